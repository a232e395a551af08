using System.Net.Http.Json;
using NUnit.Framework;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace StateKit.Tests.AspNetCore;

/// <summary>
/// The web sample's chat page in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium):
/// history survives a reload, checkpoints restore, sign-in changes the cookie and kills the old one, and the cookie has
/// the documented flags. A missing browser fails this test in CI.
/// </summary>
public sealed class WebSampleBrowserTests
{
    private string _data = null!;

    [SetUp]
    public void CreateDataDirectory() => _data = Directory.CreateTempSubdirectory("statekit-browser-").FullName;

    [TearDown]
    public void DeleteDataDirectory()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    [Test]
    public async Task ChatPage_KeepsHistoryAcrossReloads_RestoresCheckpoints_AndSignInRotatesTheCookie()
    {
        var driverPath = TestServers.ChromeDriver;
        var chromium = TestServers.Chromium;
        await using var sample = await WebSampleProcess.StartAsync($"--StateKit:Store:ConnectionString={Path.Combine(_data, "chat.db")}", "--StateKit:Sessions:Http:CookieSecurePolicy=SameAsRequest");
        using var driver = Browser.Start(driverPath, chromium, _data);

        driver.Navigate().GoToUrl(sample.BaseAddress);
        await Ready(driver);
        Assert.That(driver.Manage().Cookies.GetCookieNamed("chat.session"), Is.Null, "opening the page stores no session");

        await Say(driver, "hello", expectedItems: 2);
        await Say(driver, "how are you?", expectedItems: 4);
        Assert.That(History(driver), Is.EqualTo(new[] { "hello", "Echo: hello", "how are you?", "Echo: how are you?" }));

        var cookie = driver.Manage().Cookies.GetCookieNamed("chat.session");
        Assert.That(cookie, Is.Not.Null);
        Assert.That((cookie!.IsHttpOnly, cookie.Secure, cookie.SameSite, cookie.Path), Is.EqualTo((true, false, "Lax", "/")), "HttpOnly, SameSite=Lax, not Secure over http, path /");
        Assert.That(cookie.Expiry, Is.Null, "a browser-session cookie by default");
        Assert.That(((IJavaScriptExecutor)driver).ExecuteScript("return document.cookie") as string, Does.Not.Contain("chat.session"), "scripts cannot read it");

        driver.Navigate().Refresh();
        await Ready(driver);
        Assert.That(History(driver), Has.Count.EqualTo(4), "the history survives a reload");

        // Issue 23, item 22: an empty message shows the field's message; a long unbroken one stays inside its bubble.
        driver.FindElement(By.Id("send")).Click();
        await Browser.Until(() => driver.FindElement(By.Id("status")).Text.Contains("Say something (1 to", StringComparison.Ordinal), "the field message of an empty send");
        await Say(driver, new string('x', 400), expectedItems: 6);
        Assert.That(((IJavaScriptExecutor)driver).ExecuteScript("const li = document.querySelector('#history li.user:last-of-type') ?? [...document.querySelectorAll('#history li.user')].pop(); return li.scrollWidth <= li.clientWidth;"), Is.True, "the long message wraps inside its bubble");

        driver.FindElement(By.Id("checkpoint")).Click();
        await Browser.Until(() => driver.FindElement(By.Id("restore")).Enabled, "the checkpoint is saved");
        driver.Navigate().Refresh();
        await Ready(driver);
        await Browser.Until(() => driver.FindElement(By.Id("restore")).Enabled, "Restore is enabled after a reload: the checkpoint is still there");
        await Say(driver, "forget this", expectedItems: 8);
        driver.FindElement(By.Id("restore")).Click();
        await Browser.Until(() => History(driver).Count == 6, "the restore brings back the checkpoint's history");

        driver.FindElement(By.Id("name")).SendKeys("Ada");
        driver.FindElement(By.Id("signin")).Click();
        await Browser.Until(() => driver.FindElement(By.Id("status")).Text.StartsWith("Signed in as Ada", StringComparison.Ordinal), "signed in");
        var rotated = driver.Manage().Cookies.GetCookieNamed("chat.session");
        Assert.That(rotated!.Value, Is.Not.EqualTo(cookie.Value), "sign-in gives the session a new id");
        Assert.That(History(driver), Is.Empty, "and starts empty: nothing planted before sign-in carries over (issue 30, item 8)");

        using var attacker = new HttpClient { BaseAddress = sample.BaseAddress };
        using var replay = new HttpRequestMessage(HttpMethod.Get, "/api/session") { Headers = { { "Cookie", "chat.session=" + cookie.Value } } };
        using var replayed = await attacker.SendAsync(replay);
        var seen = await replayed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.That(seen.GetProperty("history").GetArrayLength(), Is.Zero, "the pre-sign-in cookie no longer works");

        await Say(driver, "signed in now", expectedItems: 2);
        Assert.That(History(driver)[^1], Is.EqualTo("Echo for Ada: signed in now"));

        driver.FindElement(By.Id("signout")).Click();
        await Browser.Until(() => History(driver).Count == 0 && driver.FindElement(By.Id("status")).Text.StartsWith("Not signed in", StringComparison.Ordinal), "signed out");
        Assert.That(driver.Manage().Cookies.GetCookieNamed("chat.session"), Is.Null, "sign-out deletes the cookie");
        await Browser.Until(() => !driver.FindElement(By.Id("restore")).Enabled && driver.FindElement(By.Id("name")).GetAttribute("value") == string.Empty, "after sign-out: nothing to restore, no old name");

        using var malformed = await attacker.PostAsync("/api/chat", new StringContent("{\"text\": ", System.Text.Encoding.UTF8, "application/json"));
        Assert.That(malformed.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.BadRequest));
        Assert.That(malformed.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), "malformed JSON is answered with ProblemDetails, not an empty 400");
    }

    private static async Task Ready(IWebDriver driver) =>
        await Browser.Until(() => driver.FindElement(By.Id("status")).GetAttribute("data-ready") == "true", "the page loaded its session");

    private static async Task Say(IWebDriver driver, string text, int expectedItems)
    {
        driver.FindElement(By.Id("message")).SendKeys(text);
        driver.FindElement(By.Id("send")).Click();
        await Browser.Until(() => History(driver).Count == expectedItems, $"'{text}' and its answer are shown");
    }

    // One script call, so a list the page is re-rendering is never read half old, half new (no stale elements).
    private static List<string> History(IWebDriver driver) =>
        ((IEnumerable<object>)((IJavaScriptExecutor)driver).ExecuteScript("return [...document.querySelectorAll('#history li')].map(li => li.textContent);")!)
            .Select(o => (string)o).ToList();
}
