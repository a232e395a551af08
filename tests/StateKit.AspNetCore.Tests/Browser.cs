using NUnit.Framework;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace StateKit.Tests.AspNetCore;

/// <summary>Headless Chromium through Debian's ChromeDriver (Selenium), for the browser tests.</summary>
internal static class Browser
{
    /// <summary>Starts a headless browser with its profile under <paramref name="dataDirectory"/>.</summary>
    public static ChromeDriver Start(string driverPath, string chromium, string dataDirectory)
    {
        Environment.SetEnvironmentVariable("SE_OFFLINE", "true"); // Selenium Manager must not look for downloads
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driverPath)!, Path.GetFileName(driverPath));
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = chromium };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--window-size=1400,820",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + Path.Combine(dataDirectory, "profile"));
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    /// <summary>Waits up to 30 s for <paramref name="condition"/>; an element being re-rendered or not there yet counts as not yet.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                if (condition())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is StaleElementReferenceException or NoSuchElementException)
            {
                // Re-rendered while read, or not rendered yet: ask again.
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(50);
        }
    }
}
