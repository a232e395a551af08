using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using StateKit.Testing;

namespace StateKit.Tests.AspNetCore;

/// <summary>
/// The State Explorer in a real headless Chromium over Kestrel: browse scopes, a value's timeline, the highlighted
/// diff, fork and restore (confirmed in the browser's dialogs), live updates from the change feed, read-only mode,
/// and a user without the policy refused. With <c>STATEKIT_SCREENSHOTS</c> set it saves the README's screenshots there.
/// </summary>
public sealed class ExplorerBrowserTests
{
    private string _data = null!;

    [SetUp]
    public void CreateDataDirectory() => _data = Directory.CreateTempSubdirectory("statekit-explorer-").FullName;

    [TearDown]
    public void DeleteDataDirectory() => Directory.Delete(_data, recursive: true);

    [TestCase("sqlite")]
    [TestCase("redis")]
    public async Task Explorer_BrowseTimelineDiffForkRestoreAndLiveUpdates(string kind)
    {
        var driverPath = TestServers.ChromeDriver;
        var chromium = TestServers.Chromium;
        var store = TestStores.Create(kind, TimeProvider.System, out var cleanup);
        try
        {
            await using var app = await ExplorerApp.StartKestrelAsync(b => b.UseStore(_ => new Provider.NonDisposingStore(store)), readOnly: false);
            var provider = app.Services.GetRequiredService<IStateProvider>();
            var checkpoint = await ExplorerTests.SeedAsync(provider);
            using var driver = Browser.Start(driverPath, chromium, _data);

            // Without the policy's role the page is refused.
            driver.Navigate().GoToUrl(app.BaseAddress);
            driver.Manage().Cookies.AddCookie(new OpenQA.Selenium.Cookie("test-user", "bob%3Bviewer", "/"));
            using (var http = new HttpClient { BaseAddress = app.BaseAddress })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "statekit/") { Headers = { { "Cookie", "test-user=bob%3Bviewer" } } };
                Assert.That((await http.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            }

            driver.Manage().Cookies.DeleteCookieNamed("test-user");
            driver.Manage().Cookies.AddCookie(new OpenQA.Selenium.Cookie("test-user", "ada%3Badmin", "/"));
            driver.Navigate().GoToUrl(new Uri(app.BaseAddress, "statekit/"));
            await Browser.Until(() => driver.FindElement(By.TagName("body")).GetAttribute("data-ready") == "true", "the page loaded");
            Assert.That(driver.FindElement(By.Id("store-info")).Text, Does.Contain("healthy"));
            await Browser.Until(() => driver.FindElement(By.Id("live")).Text == "live", "the change feed is connected");

            // Browse: the scope, its value, the timeline.
            await Click(driver, "#scopes li[data-shard='persistent/agent-1']");
            await Browser.Until(() => driver.FindElements(By.CssSelector("#entries li")).Count == 1, "the scope's values");
            await Click(driver, "#entries li");
            await Browser.Until(() => driver.FindElement(By.Id("meta")).GetAttribute("data-version") == "4", "the value at version 4");
            Assert.That(driver.FindElement(By.Id("value")).Text, Does.Contain("\"turn\": 4").And.Contain("curious"));
            Assert.That(driver.FindElements(By.CssSelector("#timeline li")).Select(li => li.GetAttribute("data-version")), Is.SupersetOf(new[] { "1", "2", "3", "4" }));
            await Click(driver, "#timeline li[data-version='2'] span");
            await Browser.Until(() => driver.FindElement(By.Id("value")).Text.Contains("\"turn\": 2", StringComparison.Ordinal), "version 2 from the timeline");

            // Fork from that point of the history (no checkpoint needed).
            await Click(driver, "#timeline li[data-version='2'] button.fork-as-of");
            var asOfPrompt = driver.SwitchTo().Alert();
            asOfPrompt.SendKeys("persistent:agent-8");
            asOfPrompt.Accept();
            await Browser.Until(() => driver.FindElement(By.Id("status")).Text.StartsWith("Forked into persistent:agent-8", StringComparison.Ordinal), "forked as of version 2");
            Assert.That((await provider.GetAsync<ExplorerTests.Profile>(StateScope.Persistent("agent-8"), "profile"))!.Value.Turn, Is.EqualTo(2));

            // The diff between v1 and v4, highlighted by kind.
            ((IJavaScriptExecutor)driver).ExecuteScript("document.getElementById('diff-from').value = '1'; document.getElementById('diff-to').value = '4';");
            await Click(driver, "#diff");
            await Browser.Until(() => driver.FindElements(By.CssSelector("#diff-result tbody tr")).Count == 2, "two changed members");
            Assert.That(driver.FindElements(By.CssSelector("#diff-result tbody tr")).Select(tr => tr.GetAttribute("class")), Is.EquivalentTo(new[] { "modified", "added" }));
            Screenshot(driver, "explorer-diff.png");

            // Live: a write elsewhere shows up without a reload.
            await provider.SetAsync(StateScope.Persistent("agent-1"), "profile", new ExplorerTests.Profile("Ada", 5, "live"));
            await Browser.Until(() => driver.FindElement(By.Id("events")).Text.Contains("persistent/agent-1/v/profile", StringComparison.Ordinal), "the change in the live list");
            await Browser.Until(() => driver.FindElement(By.Id("meta")).GetAttribute("data-version") == "5", "the value refreshed to version 5");

            // Fork (prompt) and restore (confirm) go through the browser's dialogs.
            await Click(driver, $"#checkpoints li[data-id='{checkpoint}'] button.fork");
            var prompt = driver.SwitchTo().Alert();
            prompt.SendKeys("persistent:agent-7");
            prompt.Accept();
            await Browser.Until(() => driver.FindElement(By.Id("status")).Text.StartsWith("Forked into persistent:agent-7", StringComparison.Ordinal), "forked");
            Assert.That((await provider.GetAsync<ExplorerTests.Profile>(StateScope.Persistent("agent-7"), "profile"))!.Value.Turn, Is.EqualTo(3));
            await Click(driver, $"#checkpoints li[data-id='{checkpoint}'] button.restore");
            driver.SwitchTo().Alert().Dismiss();
            await Task.Delay(300);
            Assert.That((await provider.GetAsync<ExplorerTests.Profile>(StateScope.Persistent("agent-1"), "profile"))!.Value.Turn, Is.EqualTo(5), "a dismissed confirmation restores nothing");
            await Click(driver, $"#checkpoints li[data-id='{checkpoint}'] button.restore");
            driver.SwitchTo().Alert().Accept();
            await Browser.Until(() => driver.FindElement(By.Id("status")).Text.StartsWith("Restored", StringComparison.Ordinal), "restored");
            Assert.That((await provider.GetAsync<ExplorerTests.Profile>(StateScope.Persistent("agent-1"), "profile"))!.Value.Turn, Is.EqualTo(3));
            await Browser.Until(() => driver.FindElement(By.Id("value")).Text.Contains("\"turn\": 3", StringComparison.Ordinal), "the page shows the restored value");
            Screenshot(driver, "explorer.png");
        }
        finally
        {
            await store.DisposeAsync();
            await cleanup();
        }
    }

    [Test]
    public async Task Explorer_ReadOnly_ShowsNoActions()
    {
        var driverPath = TestServers.ChromeDriver;
        var chromium = TestServers.Chromium;
        await using var app = await ExplorerApp.StartKestrelAsync(b => b.UseMemory(), readOnly: true);
        await ExplorerTests.SeedAsync(app.Services.GetRequiredService<IStateProvider>());
        using var driver = Browser.Start(driverPath, chromium, _data);
        driver.Navigate().GoToUrl(app.BaseAddress);
        driver.Manage().Cookies.AddCookie(new OpenQA.Selenium.Cookie("test-user", "ada%3Badmin", "/"));
        driver.Navigate().GoToUrl(new Uri(app.BaseAddress, "statekit/"));
        await Browser.Until(() => driver.FindElement(By.TagName("body")).GetAttribute("data-ready") == "true", "the page loaded");
        Assert.That(driver.FindElement(By.TagName("body")).GetAttribute("data-read-only"), Is.EqualTo("true"));
        await Click(driver, "#scopes li[data-shard='persistent/agent-1']");
        await Browser.Until(() => driver.FindElements(By.CssSelector("#checkpoints li")).Count == 1, "the checkpoint is listed");
        Assert.That(driver.FindElements(By.CssSelector("#checkpoints button")), Is.Empty, "no restore or fork buttons");

        // The page's own request path refuses too (the buttons are not the protection).
        var status = ((IJavaScriptExecutor)driver).ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            fetch('api/checkpoints/restore', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-StateKit-Explorer': '1' }, body: JSON.stringify({ scope: 'persistent:agent-1', id: 'x' }) })
              .then(r => done(r.status));
            """);
        Assert.That(status, Is.EqualTo(403L));
    }

    /// <summary>Clicks once the element is there; live updates re-render the lists, so a stale element is found again.</summary>
    private static Task Click(IWebDriver driver, string css) => Browser.Until(
        () =>
        {
            driver.FindElement(By.CssSelector(css)).Click();
            return true;
        },
        "clicked " + css);

    private static void Screenshot(IWebDriver driver, string name)
    {
        if (Environment.GetEnvironmentVariable("STATEKIT_SCREENSHOTS") is { Length: > 0 } directory)
        {
            driver.Manage().Window.Size = new System.Drawing.Size(1400, 820);
            ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(Path.Combine(directory, name));
        }
    }
}
