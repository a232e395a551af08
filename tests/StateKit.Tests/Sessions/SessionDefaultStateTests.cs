using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Sessions;

/// <summary>How a new session's default state is made.</summary>
public sealed class SessionDefaultStateTests
{
    public sealed record WithDefaults(int Turns = 3, string Name = "n");

    public sealed record WithRequired(string Name);

    [Test]
    public async Task RecordWhoseParametersAllHaveDefaults_IsCreatedWithThem()
    {
        await using var provider = new ServiceCollection().AddStateKit().AddSessions<WithDefaults>().Services.BuildServiceProvider();
        var session = await provider.GetRequiredService<ISessionManager<WithDefaults>>().CreateAsync();
        Assert.That(session.State, Is.EqualTo(new WithDefaults(3, "n")));
    }

    [Test]
    public async Task TypeWithRequiredParameters_NeedsAFactory_AndSaysSo()
    {
        await using (var provider = new ServiceCollection().AddStateKit().AddSessions<WithRequired>().Services.BuildServiceProvider())
        {
            var sessions = provider.GetRequiredService<ISessionManager<WithRequired>>();
            Assert.That(async () => await sessions.CreateAsync(), Throws.InvalidOperationException.With.Message.Contains("default-state factory"));
            Assert.That((await sessions.CreateAsync(new WithRequired("given"))).State.Name, Is.EqualTo("given"));
        }

        await using var withFactory = new ServiceCollection().AddStateKit().AddSessions(defaultState: () => new WithRequired("factory")).Services.BuildServiceProvider();
        Assert.That((await withFactory.GetRequiredService<ISessionManager<WithRequired>>().CreateAsync()).State.Name, Is.EqualTo("factory"));
    }
}

/// <summary>The hosted cleanup service runs the cleanup on its interval.</summary>
public sealed class SessionCleanupServiceTests
{
    public sealed record Chat(int Turns = 0);

    [Test]
    public async Task HostedService_RunsCleanupOnItsInterval()
    {
        var time = new StateKit.Testing.ManualTimeProvider(DateTimeOffset.UtcNow);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddStateKit().AddSessions<Chat>(o => o.CleanupInterval = TimeSpan.FromMilliseconds(20));
        await using var provider = services.BuildServiceProvider();
        var sessions = provider.GetRequiredService<ISessionManager<Chat>>();
        var hosted = provider.GetServices<Microsoft.Extensions.Hosting.IHostedService>().ToArray();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        try
        {
            await sessions.CreateAsync();
            time.Advance(TimeSpan.FromMinutes(21));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (sessions.GetStats().Expired == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.That(sessions.GetStats().Expired, Is.EqualTo(1), "the hosted service found the expired session without being called");
        }
        finally
        {
            foreach (var service in hosted)
            {
                await service.StopAsync(CancellationToken.None);
            }
        }
    }
}
