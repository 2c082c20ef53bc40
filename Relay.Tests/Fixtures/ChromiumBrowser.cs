using Microsoft.Playwright;

namespace Relay.Tests.Fixtures;

/// <summary>
/// Debian's Chromium (/usr/bin/chromium, installed by the test command), driven by Playwright, headless, with no
/// network beyond what the page asks for. One browser per test class; each test opens its own context.
/// </summary>
public sealed class ChromiumBrowser : IAsyncLifetime
{
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"{ExecutablePath} is missing: the test command installs Debian's chromium (scripts/install-deps.sh --test).");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--mute-audio", "--autoplay-policy=no-user-gesture-required",

                // This machine has no sound device: Chromium would spend ~0.5 s failing to open PulseAudio and ALSA
                // before playing anything with an audio track. A null sink stands in for the speakers a viewer has.
                "--disable-audio-output",
            ],
        });

        // Starting the browser is not part of loading a page: open one blank page so its first renderer is warm.
        var warm = await Browser.NewPageAsync();
        await warm.CloseAsync();
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>Opens a page in a fresh context (no cache shared with other tests).</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        return await context.NewPageAsync();
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> (JavaScript) holds on <paramref name="page"/>; on time-out says what was
    /// awaited, with the value of <paramref name="diagnostics"/> (JavaScript) when given.
    /// </summary>
    public static async Task WaitForAsync(IPage page, string condition, string what, TimeSpan timeout, string? diagnostics = null)
    {
        try
        {
            await page.WaitForFunctionAsync(condition, null, new PageWaitForFunctionOptions { Timeout = (float)timeout.TotalMilliseconds, PollingInterval = 100 });
        }
        catch (TimeoutException e)
        {
            var seen = diagnostics is null ? string.Empty : $"; {await page.EvaluateAsync<string>(diagnostics)}";
            throw new TimeoutException($"Timed out waiting for {what} ({condition}){seen}", e);
        }
    }
}
