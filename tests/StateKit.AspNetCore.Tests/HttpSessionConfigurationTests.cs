using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NUnit.Framework;
using StateKit.AspNetCore;

namespace StateKit.Tests.AspNetCore;

/// <summary>
/// Issue 24: HTTP session options are bound where the rest of StateKit's are, under the section given to
/// <c>AddStateKit(configuration)</c> (before, always from <c>StateKit:Sessions:Http</c> of the root configuration).
/// </summary>
public sealed class HttpSessionConfigurationTests
{
    [Test]
    public async Task HttpSessionOptions_AreReadUnderTheSectionGivenToAddStateKit()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MyApp:State:Sessions:Http:CookieName"] = "myapp.session",
            ["StateKit:Sessions:Http:CookieName"] = "not.this.one",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddStateKit(configuration.GetSection("MyApp:State")).AddSessions<Visit>().AddHttpSessions<Visit>();
        await using var provider = services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<IOptionsMonitor<HttpSessionOptions>>().Get(typeof(Visit).FullName).CookieName, Is.EqualTo("myapp.session"));
    }

    [Test]
    public async Task WithoutASection_HttpSessionOptions_AreReadFromStateKitSessionsHttp()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StateKit:Sessions:Http:CookieName"] = "app.session",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddStateKit().AddSessions<Visit>().AddHttpSessions<Visit>();
        await using var provider = services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<IOptionsMonitor<HttpSessionOptions>>().Get(typeof(Visit).FullName).CookieName, Is.EqualTo("app.session"));
    }

    /// <summary>A session type.</summary>
    public sealed class Visit
    {
        /// <summary>Gets or sets the count.</summary>
        public int Count { get; set; }
    }
}
