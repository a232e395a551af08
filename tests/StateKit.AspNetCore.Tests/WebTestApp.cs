using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StateKit.Tests.AspNetCore;

/// <summary>A minimal-API app on a TestServer with a given store; its client keeps cookies like a browser.</summary>
internal sealed class WebTestApp : IAsyncDisposable
{
    private WebTestApp(WebApplication app, CookieContainer cookies, Uri baseAddress)
    {
        App = app;
        Cookies = cookies;
        Client = new HttpClient(new CookieHandler(cookies) { InnerHandler = app.GetTestServer().CreateHandler() }) { BaseAddress = baseAddress };
    }

    private static readonly Lazy<string> EmptyContentRoot = new(() => Directory.CreateTempSubdirectory("statekit-web-root-").FullName);

    public WebApplication App { get; }

    public CookieContainer Cookies { get; }

    /// <summary>A client with its own cookie jar.</summary>
    public HttpClient Client { get; }

    public IServiceProvider Services => App.Services;

    public static async Task<WebTestApp> StartAsync(IStateStore store, Action<WebApplicationBuilder> configure, Action<WebApplication> map, string baseAddress = "http://localhost/", string? environment = null)
    {
        // An empty content root: no appsettings.json (the web sample's is copied next to these tests).
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = EmptyContentRoot.Value, EnvironmentName = environment });
        builder.Logging.ClearProviders();
        builder.WebHost.UseTestServer();
        builder.Services.AddStateKit(o => o.Telemetry = false).UseStore(_ => new Provider.NonDisposingStore(store));
        configure(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new WebTestApp(app, new CookieContainer(), new Uri(baseAddress));
    }

    /// <summary>Another client (own cookie jar) on the same server.</summary>
    public HttpClient NewClient(out CookieContainer cookies)
    {
        cookies = new CookieContainer();
        return new HttpClient(new CookieHandler(cookies) { InnerHandler = App.GetTestServer().CreateHandler() }) { BaseAddress = Client.BaseAddress };
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }

    /// <summary>Sends and stores cookies as a browser does (CookieContainer rules: Secure cookies only over https).</summary>
    private sealed class CookieHandler(CookieContainer cookies) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var header = cookies.GetCookieHeader(request.RequestUri!);
            if (header.Length > 0 && !request.Headers.Contains("Cookie"))
            {
                request.Headers.Add("Cookie", header);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
            {
                foreach (var setCookie in setCookies)
                {
                    cookies.SetCookies(request.RequestUri!, setCookie);
                }
            }

            return response;
        }
    }
}
