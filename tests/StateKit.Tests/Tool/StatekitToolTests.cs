using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using StateKit.Serialization;
using StateKit.Tool;

namespace StateKit.Tests.Tool;

/// <summary>
/// The <c>statekit</c> tool end to end, in-process with the arguments a user types, against real servers: export and
/// import round trips, online migration under a live writer, resumed exports, bad files and connection strings.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public sealed class StatekitToolTests
{
    /// <summary>The five persistent store kinds (memory lives in one process, so a tool cannot open an app's).</summary>
    public static readonly string[] Kinds = ["file", "sqlite", "postgres", "redis", "redis-cluster"];

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    /// <summary>What <see cref="SeedAsync"/> writes: entries (incl. history, checkpoint and index entries) and lists.</summary>
    private const int ChatItems = 1_200;

    [TestCaseSource(nameof(Kinds))]
    public async Task ExportImport_RoundTrip_KeepsEveryEntryListVersionAndExpiry(string kind)
    {
        await using var source = ToolStore.Create(kind);
        await using var target = ToolStore.Create(kind);
        await using (var opened = await source.OpenAsync())
        {
            await SeedAsync(opened);
        }

        var file = TempFile();
        var export = await ToolRun.RunAsync("export", "--store", source.ConfigPath, file, "--json");
        Assert.That(export.Exit, Is.EqualTo(ExitCodes.Ok), export.Errors);
        var exported = ToolRun.JsonLines(export.Output)[0];
        Assert.That(exported.GetProperty("items").GetInt64(), Is.EqualTo(ChatItems + 2 + 4), "the chat, the raw log and the two scope indexes' items");

        var import = await ToolRun.RunAsync("import", "--store", target.ConfigPath, file, "--json");
        Assert.That(import.Exit, Is.EqualTo(ExitCodes.Ok), import.Errors);
        Assert.That(ToolRun.JsonLines(import.Output)[0].GetProperty("written").GetInt64(), Is.EqualTo(exported.GetProperty("entries").GetInt64()));

        // Exported again from the target: every entry line is the same byte for byte (key, version, expiry, value);
        // list lines too, except that a list's expiry travels as time left and may come out a little later.
        var again = TempFile();
        Assert.That((await ToolRun.RunAsync("export", "--store", target.ConfigPath, again)).Exit, Is.EqualTo(ExitCodes.Ok));
        var (first, second) = (Body(file), Body(again));
        Assert.That(second.Where(l => l.StartsWith("{\"e\"", StringComparison.Ordinal)), Is.EqualTo(first.Where(l => l.StartsWith("{\"e\"", StringComparison.Ordinal))));
        var firstLists = first.Where(l => l.StartsWith("{\"l\"", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l)).ToList();
        var secondLists = second.Where(l => l.StartsWith("{\"l\"", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l)).ToList();
        Assert.That(secondLists.Select(WithoutExpiry), Is.EqualTo(firstLists.Select(WithoutExpiry)));
        foreach (var (a, b) in firstLists.Zip(secondLists))
        {
            Assert.That(a.RootElement.TryGetProperty("x", out var x), Is.EqualTo(b.RootElement.TryGetProperty("x", out var y)));
            if (a.RootElement.TryGetProperty("x", out _))
            {
                Assert.That(Math.Abs(x.GetInt64() - y.GetInt64()), Is.LessThanOrEqualTo((long)StoreComparison.ListExpirySlack.TotalMilliseconds));
            }
        }

        var verify = await ToolRun.RunAsync("verify", "--store", source.ConfigPath, "--against", target.ConfigPath, "--json");
        Assert.That(verify.Exit, Is.EqualTo(ExitCodes.Ok), verify.Output + verify.Errors);

        // Run again: nothing is written twice.
        var rerun = await ToolRun.RunAsync("import", "--store", target.ConfigPath, file, "--json");
        Assert.That(rerun.Exit, Is.EqualTo(ExitCodes.Ok), rerun.Errors);
        var report = ToolRun.JsonLines(rerun.Output)[0];
        Assert.That((report.GetProperty("written").GetInt64(), report.GetProperty("listsWritten").GetInt64()), Is.EqualTo((0L, 0L)));
        Assert.That(report.GetProperty("unchanged").GetInt64(), Is.EqualTo(exported.GetProperty("entries").GetInt64()));
        await using var check = await target.OpenAsync();
        Assert.That(await check.Store.ListLengthAsync("session/s1/l/chat"), Is.EqualTo(ChatItems), "a list imported twice is not doubled");
    }

    [TestCase("sqlite", "postgres")]
    [TestCase("redis", "file")]
    [TestCase("redis-cluster", "sqlite")]
    [TestCase("postgres", "redis-cluster")]
    public async Task Migrate_WhileAWriterKeepsWriting_LosesAndDuplicatesNothing(string from, string to)
    {
        await using var source = ToolStore.Create(from);
        await using var target = ToolStore.Create(to);
        await using var app = await source.OpenAsync();
        await SeedAsync(app);
        using var stop = new CancellationTokenSource();
        var migration = ToolRun.RunAsync(stop.Token, "migrate", "--from", source.ConfigPath, "--to", target.ConfigPath, "--json");

        // The app keeps writing while the copy runs and while the migration follows: sets, deletes, re-creates, appends.
        var written = new Dictionary<string, long>();
        for (var i = 0; i < 600; i++)
        {
            var key = $"w/{i % 40}";
            written[key] = await app.Store.SetAsync(key, Encoding.UTF8.GetBytes($"value {i}"));
            if (i % 7 == 0)
            {
                await app.Store.ListAppendAsync($"log/{i % 3}", [Encoding.UTF8.GetBytes($"line {i}")]);
            }

            if (i % 50 == 49)
            {
                await app.Store.DeleteAsync($"w/{(i + 1) % 40}");
                written.Remove($"w/{(i + 1) % 40}");
            }

            if (i % 100 == 0)
            {
                await app.Provider.SetAsync(StateScope.Persistent("agent-1"), "profile", new Profile("Ada", 100 + i));
            }

            await Task.Delay(i % 10 == 0 ? 10 : 1);
        }

        await Task.Delay(TimeSpan.FromSeconds(2)); // the feed delivers the last writes; then the user stops the migration
        await stop.CancelAsync();
        var result = await migration;
        Assert.That(result.Exit, Is.EqualTo(ExitCodes.Ok), result.Output + result.Errors);
        var report = ToolRun.JsonLines(result.Output)[0];
        Assert.That(report.GetProperty("verified").GetString(), Is.EqualTo("same"), result.Output);
        Assert.That((report.GetProperty("conflicts").GetInt32(), report.GetProperty("lowerVersions").GetInt64()), Is.EqualTo((0, 0L)));

        // Checked independently of the tool's own comparison: every key the writer left is there, at its version.
        await using var migrated = await target.OpenAsync();
        foreach (var (key, version) in written)
        {
            var entry = await migrated.Store.GetAsync(key);
            Assert.That(entry?.Version, Is.EqualTo(version), key);
        }

        for (var list = 0; list < 3; list++)
        {
            var items = await migrated.Store.ListRangeAsync($"log/{list}");
            Assert.That(items.Select(i => Encoding.UTF8.GetString(i.Span)), Is.EqualTo((await app.Store.ListRangeAsync($"log/{list}")).Select(i => Encoding.UTF8.GetString(i.Span))), "no line lost or doubled");
        }

        // A second copy afterwards writes nothing and finds both the same.
        var copy = await ToolRun.RunAsync("copy", "--from", source.ConfigPath, "--to", target.ConfigPath, "--json");
        var second = ToolRun.JsonLines(copy.Output)[0];
        Assert.That((copy.Exit, second.GetProperty("written").GetInt64(), second.GetProperty("listsWritten").GetInt64()), Is.EqualTo((ExitCodes.Ok, 0L, 0L)), copy.Output + copy.Errors);
    }

    /// <summary>
    /// The layers of the app's configuration apply: an encrypted source with an L1 tier is copied into a target
    /// encrypted under another key, read back equal through both pipelines, never stored in plain text at the target;
    /// an export holds what the pipeline reads (plain), and imports into a store without encryption as such.
    /// </summary>
    [TestCase("sqlite", "postgres")]
    [TestCase("redis-cluster", "file")]
    public async Task Copy_EncryptedAndL1Layers_FromTheAppsConfiguration(string from, string to)
    {
        static Dictionary<string, object> Encrypted(string keyId) => new()
        {
            ["Encryption"] = new Dictionary<string, object>
            {
                ["Enabled"] = true,
                ["CurrentKeyId"] = keyId,
                ["Keys"] = new Dictionary<string, string> { [keyId] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) },
            },
            ["L1"] = new Dictionary<string, object> { ["Enabled"] = true },
        };

        await using var source = ToolStore.Create(from, Encrypted("source-key"));
        await using var target = ToolStore.Create(to, Encrypted("target-key"));
        await using (var opened = await source.OpenAsync())
        {
            Assert.That(opened.Store.DescribePipeline(), Does.Contain("l1").And.Contain("encryption"));
            await SeedAsync(opened);
        }

        var copy = await ToolRun.RunAsync("copy", "--from", source.ConfigPath, "--to", target.ConfigPath, "--json");
        Assert.That(copy.Exit, Is.EqualTo(ExitCodes.Ok), copy.Output + copy.Errors);
        Assert.That(ToolRun.JsonLines(copy.Output)[0].GetProperty("verified").GetString(), Is.EqualTo("same"));

        var plain = new StateValueCodec().Encode(new Profile("Ada", 3));
        await using (var raw = await StoreOpener.OpenAsync(target.Variant(s => { s.Remove("Encryption"); s.Remove("L1"); }), "StateKit", null, CancellationToken.None))
        {
            var stored = await raw.Store.GetAsync("persistent/agent-1/v/profile");
            Assert.That(stored!.Value.ToArray(), Is.Not.EqualTo(plain), "the target holds ciphertext");
            Assert.That(stored.Version, Is.EqualTo(3));
        }

        var file = TempFile();
        Assert.That((await ToolRun.RunAsync("export", "--store", source.ConfigPath, file)).Exit, Is.EqualTo(ExitCodes.Ok));
        await using var plainStore = ToolStore.Create("sqlite");
        Assert.That((await ToolRun.RunAsync("import", "--store", plainStore.ConfigPath, file)).Exit, Is.EqualTo(ExitCodes.Ok));
        await using var check = await plainStore.OpenAsync();
        Assert.That((await check.Provider.GetAsync<Profile>(StateScope.Persistent("agent-1"), "profile"))!.Value, Is.EqualTo(new Profile("Ada", 3)));
    }

    [Test]
    public async Task Export_Interrupted_ResumesFromItsLastWholeLine([Values("entries", "lists")] string cutIn)
    {
        await using var source = ToolStore.Create("sqlite");
        await using var target = ToolStore.Create("sqlite");
        await using (var opened = await source.OpenAsync())
        {
            await SeedAsync(opened);
            for (var i = 0; i < 300; i++)
            {
                await opened.Store.SetAsync($"bulk/{i:D4}", Encoding.UTF8.GetBytes($"v{i}"));
            }
        }

        var file = TempFile();
        Assert.That((await ToolRun.RunAsync("export", "--store", source.ConfigPath, file)).Exit, Is.EqualTo(ExitCodes.Ok));
        var bytes = await System.IO.File.ReadAllBytesAsync(file);
        var text = Encoding.ASCII.GetString(bytes);
        var cut = cutIn == "entries" ? text.IndexOf("bulk/0150", StringComparison.Ordinal) + 20 : text.IndexOf("{\"l\":\"session/s1/l/chat\"", StringComparison.Ordinal) + 700;
        await System.IO.File.WriteAllBytesAsync(file, bytes[..cut]); // the process died mid-line

        Assert.That((await ToolRun.RunAsync("import", "--store", target.ConfigPath, file)).Exit, Is.EqualTo(ExitCodes.BadFile), "an unfinished export is not imported");
        Assert.That((await ToolRun.RunAsync("export", "--store", source.ConfigPath, file)).Exit, Is.EqualTo(ExitCodes.Usage), "an existing file is not overwritten without --force or --resume");
        var resumed = await ToolRun.RunAsync("export", "--store", source.ConfigPath, file, "--resume");
        Assert.That(resumed.Exit, Is.EqualTo(ExitCodes.Ok), resumed.Errors);
        Assert.That(resumed.Errors, Does.Contain("resuming after"));
        Assert.That(System.IO.File.ReadAllBytes(file), Is.EqualTo(bytes).Using<byte[]>((a, b) => Body(a).SequenceEqual(Body(b))), "the resumed file holds the same records");

        var import = await ToolRun.RunAsync("import", "--store", target.ConfigPath, file);
        Assert.That(import.Exit, Is.EqualTo(ExitCodes.Ok), import.Errors);
        Assert.That((await ToolRun.RunAsync("verify", "--store", source.ConfigPath, "--against", target.ConfigPath)).Exit, Is.EqualTo(ExitCodes.Ok));
    }

    [TestCase("truncated")]
    [TestCase("tampered")]
    [TestCase("recounted")]
    [TestCase("reordered")]
    [TestCase("not-an-export")]
    [TestCase("missing")]
    public async Task Import_BadFile_FailsWithExitCode4_AndWritesNothing(string damage)
    {
        await using var source = ToolStore.Create("sqlite");
        await using var target = ToolStore.Create("sqlite");
        await using (var opened = await source.OpenAsync())
        {
            await SeedAsync(opened);
        }

        var file = TempFile();
        Assert.That((await ToolRun.RunAsync("export", "--store", source.ConfigPath, file)).Exit, Is.EqualTo(ExitCodes.Ok));
        var lines = (await System.IO.File.ReadAllLinesAsync(file)).ToList();
        var entry = lines.FindIndex(l => l.StartsWith("{\"e\"", StringComparison.Ordinal));
        switch (damage)
        {
            case "truncated":
                await System.IO.File.WriteAllLinesAsync(file, lines.Take(lines.Count - 1));
                break;
            case "tampered":
                // One value changed, still valid base64 and JSON: only the checksum can tell.
                lines[entry] = lines[entry].Replace("\"d\":\"", "\"d\":\"AAAA", StringComparison.Ordinal);
                await System.IO.File.WriteAllLinesAsync(file, lines);
                break;
            case "recounted":
                lines.RemoveAt(entry); // a whole line gone: the trailer's counts and checksum disagree
                await System.IO.File.WriteAllLinesAsync(file, lines);
                break;
            case "reordered":
                (lines[entry], lines[entry + 1]) = (lines[entry + 1], lines[entry]);
                await System.IO.File.WriteAllLinesAsync(file, lines);
                break;
            case "not-an-export":
                await System.IO.File.WriteAllTextAsync(file, "key,value\nа,b\n");
                break;
            case "missing":
                System.IO.File.Delete(file);
                break;
        }

        var import = await ToolRun.RunAsync("import", "--store", target.ConfigPath, file);
        Assert.That(import.Exit, Is.EqualTo(ExitCodes.BadFile), import.Output + import.Errors);
        Assert.That(import.Errors, Does.Contain(file));
        var listing = await ToolRun.RunAsync("ls", "--store", target.ConfigPath, "--json", "--limit", "0");
        Assert.That(listing.Output, Is.Empty, "a bad file writes nothing");
    }

    [TestCase("postgres:Host=127.0.0.1;Port=1;Username=nobody;Timeout=2", ExitCodes.Store, "cannot be")]
    [TestCase("redis:127.0.0.1:1,connectTimeout=300,connectRetry=0", ExitCodes.Store, "cannot be")]
    [TestCase("sqlite:Data Source=/etc/hostname/state.db", ExitCodes.Store, "cannot be")]
    [TestCase("file:/etc/hostname/state", ExitCodes.Store, "cannot be")]
    [TestCase("nosuchstore:whatever", ExitCodes.Store, "unknown")]
    [TestCase("no-colon-here", ExitCodes.Usage, "is not a store")]
    [TestCase("/nonexistent/appsettings.json", ExitCodes.Store, "does not exist")]
    [TestCase("/nonexistent/appsettings.json#archive", ExitCodes.Store, "does not exist")]
    public async Task BadStore_ClearErrorAndExitCode(string store, int exit, string message)
    {
        var run = await ToolRun.RunAsync("ls", "--store", store);
        Assert.That(run.Exit, Is.EqualTo(exit), run.Errors);
        Assert.That(run.Errors, Does.Contain(message));
        Assert.That(run.Errors, Does.Not.Contain("   at "), "a message, not a stack trace");
    }

    [Test]
    public async Task BadCommandLine_ExitCode1()
    {
        Assert.That((await ToolRun.RunAsync("frobnicate")).Exit, Is.EqualTo(ExitCodes.Usage));
        Assert.That((await ToolRun.RunAsync("copy", "--from", "memory:")).Exit, Is.EqualTo(ExitCodes.Usage));
        Assert.That((await ToolRun.RunAsync("history", "--store", "memory:", "k")).Exit, Is.EqualTo(ExitCodes.Usage), "no --scope");
        Assert.That((await ToolRun.RunAsync("get", "--store", "memory:", "--scope", "planet:x", "k")).Exit, Is.EqualTo(ExitCodes.Usage));
        Assert.That((await ToolRun.RunAsync("get", "--store", "memory:", "../escape")).Exit, Is.EqualTo(ExitCodes.Usage));
        Assert.That((await ToolRun.RunAsync("get", "--store", "memory:", "missing")).Exit, Is.EqualTo(ExitCodes.NotFound));
    }

    [TestCase]
    [TestCase("ls")]
    [TestCase("get")]
    [TestCase("history")]
    [TestCase("diff")]
    [TestCase("checkpoints", "list")]
    [TestCase("checkpoints", "restore")]
    [TestCase("checkpoints", "fork")]
    [TestCase("sessions", "list")]
    [TestCase("sessions", "show")]
    [TestCase("sessions", "delete")]
    [TestCase("export")]
    [TestCase("import")]
    [TestCase("copy")]
    [TestCase("migrate")]
    [TestCase("verify")]
    public async Task Help_RendersForEveryCommand(params string[] command)
    {
        var help = await ToolRun.RunAsync([.. command, "--help"]);
        Assert.That(help.Exit, Is.EqualTo(ExitCodes.Ok), help.Errors);
        Assert.That(help.Output, Does.Contain("USAGE:"));
        Assert.That(help.Errors, Is.Empty);
    }

    [TestCase("sqlite")]
    [TestCase("postgres")]
    [TestCase("redis-cluster")]
    public async Task Inspect_LsGetHistoryDiffCheckpointsAndSessions(string kind)
    {
        await using var store = ToolStore.Create(kind);
        await using (var opened = await store.OpenAsync())
        {
            await SeedAsync(opened);
        }

        var s = store.ConfigPath;

        // ls pages through every key once, in order.
        var all = Rows(await ToolRun.RunAsync("ls", "--store", s, "--json", "--limit", "0"));
        var paged = new List<JsonElement>();
        string? after = null;
        while (true)
        {
            var page = await ToolRun.RunAsync(["ls", "--store", s, "--json", "--limit", "3", .. after is null ? Array.Empty<string>() : ["--after", after]]);
            var rows = Rows(page);
            paged.AddRange(rows);
            if (!page.Errors.Contains("more:", StringComparison.Ordinal))
            {
                break;
            }

            after = rows[^1].GetProperty("key").GetString();
        }

        Assert.That(paged.Select(r => r.GetProperty("kind").GetString() + r.GetProperty("key").GetString()), Is.EqualTo(all.Select(r => r.GetProperty("kind").GetString() + r.GetProperty("key").GetString())));
        Assert.That(all.Single(r => r.GetProperty("key").GetString() == "session/s1/l/chat").GetProperty("items").GetInt64(), Is.EqualTo(ChatItems));
        var scopes = Rows(await ToolRun.RunAsync("ls", "--store", s, "--json", "--scopes", "--limit", "0"));
        Assert.That(scopes.Select(r => r.GetProperty("scope").GetString()), Does.Contain("persistent/agent-1").And.Contain("session/s1"));

        var get = await ToolRun.RunAsync("get", "--store", s, "--scope", "persistent:agent-1", "profile", "--json");
        var value = ToolRun.JsonLines(get.Output)[0];
        Assert.That((value.GetProperty("version").GetInt64(), value.GetProperty("value").GetProperty("turn").GetInt32()), Is.EqualTo((3L, 3)));
        var chat = Rows(await ToolRun.RunAsync("get", "--store", s, "--scope", "session:s1", "--list", "chat", "--json"));
        Assert.That(chat, Has.Count.EqualTo(ChatItems));

        var history = Rows(await ToolRun.RunAsync("history", "--store", s, "--scope", "persistent:agent-1", "profile", "--json", "--values"));
        Assert.That(history.Select(h => h.GetProperty("version").GetInt64()), Is.EqualTo(new[] { 1L, 2L, 3L }));
        Assert.That(history[0].GetProperty("value").GetProperty("turn").GetInt32(), Is.EqualTo(1));
        var diff = Rows(await ToolRun.RunAsync("diff", "--store", s, "--scope", "persistent:agent-1", "profile", "1", "3", "--json"));
        Assert.That(diff.Single().GetProperty("path").GetString(), Does.Contain("turn"));

        var checkpoints = Rows(await ToolRun.RunAsync("checkpoints", "list", "--store", s, "--scope", "persistent:agent-1", "--json"));
        var id = checkpoints.Single().GetProperty("id").GetString()!;
        await using (var opened = await store.OpenAsync())
        {
            await opened.Provider.SetAsync(StateScope.Persistent("agent-1"), "profile", new Profile("Changed", 9));
        }

        Assert.That((await ToolRun.RunAsync("checkpoints", "restore", "--store", s, "--scope", "persistent:agent-1", id)).Exit, Is.EqualTo(ExitCodes.Usage), "a restore needs --yes off a terminal");
        Assert.That((await ToolRun.RunAsync("checkpoints", "restore", "--store", s, "--scope", "persistent:agent-1", id, "--yes")).Exit, Is.EqualTo(ExitCodes.Ok));
        var restored = ToolRun.JsonLines((await ToolRun.RunAsync("get", "--store", s, "--scope", "persistent:agent-1", "profile", "--json")).Output)[0];
        Assert.That(restored.GetProperty("value").GetProperty("name").GetString(), Is.EqualTo("Ada"));
        var fork = await ToolRun.RunAsync("checkpoints", "fork", "--store", s, "--scope", "persistent:agent-1", id, "--to", "persistent:agent-2", "--json");
        Assert.That(ToolRun.JsonLines(fork.Output)[0].GetProperty("values").GetInt32(), Is.EqualTo(1), fork.Errors);
        Assert.That((await ToolRun.RunAsync("checkpoints", "fork", "--store", s, "--scope", "persistent:agent-1", "--to", "persistent:agent-2")).Exit, Is.EqualTo(ExitCodes.Failed), "a fork into a scope that is not empty is refused");
        Assert.That((await ToolRun.RunAsync("checkpoints", "restore", "--store", s, "--scope", "persistent:agent-1", "no-such-checkpoint", "--yes")).Exit, Is.EqualTo(ExitCodes.NotFound));
        var asOf = history[1].GetProperty("written").GetDateTimeOffset().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        var forkAsOf = await ToolRun.RunAsync("checkpoints", "fork", "--store", s, "--scope", "persistent:agent-1", "--as-of", asOf, "--to", "persistent:agent-3", "--json");
        Assert.That(forkAsOf.Exit, Is.EqualTo(ExitCodes.Ok), forkAsOf.Errors);
        var asOfValue = ToolRun.JsonLines((await ToolRun.RunAsync("get", "--store", s, "--scope", "persistent:agent-3", "profile", "--json")).Output)[0];
        Assert.That(asOfValue.GetProperty("value").GetProperty("turn").GetInt32(), Is.EqualTo(2), "the value as it was when version 2 was written");

        // Sessions, written by a session manager as an app does.
        string sessionId;
        await using (var app = await SessionAppAsync(store))
        {
            var sessions = app.GetRequiredService<ISessionManager<ToolTestSession>>();
            var session = await sessions.CreateAsync(new ToolTestSession { Turns = 4 });
            sessionId = session.Id;
            await app.GetRequiredService<IStateProvider>().SetAsync(session.Scope, "draft", new Profile("Draft", 1));
        }

        var listed = Rows(await ToolRun.RunAsync("sessions", "list", "--store", s, "--json"));
        Assert.That(listed.Select(r => r.GetProperty("id").GetString()), Is.EqualTo(new[] { sessionId }));
        var shown = ToolRun.JsonLines((await ToolRun.RunAsync("sessions", "show", "--store", s, sessionId, "--json")).Output)[0];
        Assert.That(shown.GetProperty("record").GetProperty("state").GetProperty("turns").GetInt32(), Is.EqualTo(4));
        Assert.That(shown.GetProperty("keys").EnumerateArray().Select(k => k.GetString()), Is.EqualTo(new[] { "draft" }));
        Assert.That((await ToolRun.RunAsync("sessions", "delete", "--store", s, sessionId, "--yes")).Exit, Is.EqualTo(ExitCodes.Ok));
        Assert.That((await ToolRun.RunAsync("sessions", "show", "--store", s, sessionId)).Exit, Is.EqualTo(ExitCodes.NotFound));
        await using (var app = await SessionAppAsync(store))
        {
            Assert.That(await app.GetRequiredService<ISessionManager<ToolTestSession>>().GetAsync(sessionId), Is.Null);
        }
    }

    [TestCaseSource(nameof(Kinds))]
    public async Task Verify_ReportsDamagedEnvelopesAndLists_Exit3(string kind)
    {
        await using var store = ToolStore.Create(kind);
        await using (var opened = await store.OpenAsync())
        {
            await SeedAsync(opened);
            var damaged = new StateValueCodec().Encode(new Profile("Ada", 1));
            damaged[^2] ^= 0x20; // a flipped bit in the payload: the store's own checks pass, the envelope's does not
            await opened.Store.SetAsync("persistent/agent-1/v/broken", damaged);
            await opened.Store.ListAppendAsync("session/s1/l/broken-chat", [new StateValueCodec().Encode(new Profile("ok", 1)), damaged]);
        }

        var clean = await ToolRun.RunAsync("verify", "--store", store.ConfigPath, "--prefix", "raw/");
        Assert.That(clean.Exit, Is.EqualTo(ExitCodes.Ok), clean.Output + clean.Errors);
        var run = await ToolRun.RunAsync("verify", "--store", store.ConfigPath, "--json");
        Assert.That(run.Exit, Is.EqualTo(ExitCodes.Damaged), run.Output + run.Errors);
        Assert.That(Rows(run).Select(r => r.GetProperty("key").GetString() + " " + r.GetProperty("problem").GetString()),
            Is.EquivalentTo(new[] { "persistent/agent-1/v/broken the envelope's checksum does not match its bytes", "session/s1/l/broken-chat item 1: the envelope's checksum does not match its bytes" }));
        Assert.That(run.Errors, Does.Contain("2 damaged"));
    }

    [Test]
    public async Task Verify_FileStore_DamagedFileIsReportedByKey()
    {
        await using var store = ToolStore.Create("file");
        await using (var opened = await store.OpenAsync())
        {
            await opened.Store.SetAsync("raw/good", Encoding.UTF8.GetBytes("fine"));
            await opened.Store.SetAsync("raw/bad", Encoding.UTF8.GetBytes("about to be damaged"));
        }

        var stateDirectory = Path.Combine(Path.GetDirectoryName(store.ConfigPath)!, "state");
        var damaged = Directory.EnumerateFiles(stateDirectory, "*", SearchOption.AllDirectories)
            .Single(f => System.IO.File.ReadAllText(f, Encoding.Latin1).Contains("about to be damaged", StringComparison.Ordinal));
        var bytes = await System.IO.File.ReadAllBytesAsync(damaged);
        bytes[^3] ^= 0xFF;
        await System.IO.File.WriteAllBytesAsync(damaged, bytes);

        var run = await ToolRun.RunAsync("verify", "--store", store.ConfigPath, "--json");
        Assert.That(run.Exit, Is.EqualTo(ExitCodes.Damaged), run.Output + run.Errors);
        Assert.That(Rows(run).Single().GetProperty("key").GetString(), Is.EqualTo("raw/bad"));
    }

    [Test]
    public async Task OpensANamedStoreFromTheAppsConfiguration_AndTheStoreSectionsOptions()
    {
        var schema = "sk_tool_named_" + Guid.NewGuid().ToString("N")[..8];
        var directory = Directory.CreateTempSubdirectory("statekit-tool-").FullName;
        try
        {
            var config = Path.Combine(directory, "appsettings.json");
            await System.IO.File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
            {
                StateKit = new
                {
                    Store = new { Type = "memory" },
                    Stores = new { archive = new { KeyPrefix = "arch", Store = new { Type = "postgres", ConnectionString = TestServers.Postgres, Schema = schema } } },
                },
            }));
            await using (var opened = await StoreOpener.OpenAsync(config + "#archive", "StateKit", null, CancellationToken.None))
            {
                await opened.Store.SetAsync("k", Encoding.UTF8.GetBytes("\"archived\""));
            }

            var get = await ToolRun.RunAsync("get", "--store", config + "#archive", "k", "--json");
            Assert.That(get.Exit, Is.EqualTo(ExitCodes.Ok), get.Errors);
            Assert.That(ToolRun.JsonLines(get.Output)[0].GetProperty("value").GetString(), Is.EqualTo("archived"));
            await using var dataSource = Npgsql.NpgsqlDataSource.Create(TestServers.Postgres);
            await using var count = dataSource.CreateCommand($"SELECT count(*) FROM \"{schema}\".statekit_entries");
            Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(1L), "the Schema of the store's section was used");
            Assert.That((await ToolRun.RunAsync("ls", "--store", config + "#nosuch")).Exit, Is.EqualTo(ExitCodes.Store));
        }
        finally
        {
            await TestServers.DropSchemaAsync(schema);
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A session type for the session commands.</summary>
    public sealed class ToolTestSession
    {
        /// <summary>Gets or sets the turns.</summary>
        public int Turns { get; set; }
    }

    /// <summary>A value with history.</summary>
    /// <param name="Name">A name.</param>
    /// <param name="Turn">A number that changes.</param>
    public sealed record Profile(string Name, int Turn);

    /// <summary>Entries with history and expiry, a checkpoint, binary values, a long list and a list with expiry.</summary>
    private static async Task SeedAsync(OpenedStore opened)
    {
        var agent = StateScope.Persistent("agent-1");
        for (var turn = 1; turn <= 3; turn++)
        {
            await opened.Provider.SetAsync(agent, "profile", new Profile("Ada", turn));
        }

        await opened.Provider.CreateCheckpointAsync(agent, "before-changes");
        await opened.Provider.SetAsync(StateScope.Session("s1"), "cart", new Profile("cart", 3), new StateSetOptions<Profile> { TimeToLive = TimeSpan.FromHours(2) });
        await opened.Provider.AppendAsync(StateScope.Session("s1"), "chat", Enumerable.Range(0, ChatItems).Select(i => new Profile("message", i)).ToList());
        await opened.Store.SetAsync("raw/binary", new byte[] { 0, 1, 2, 0xFF, 0xFE }, new StateWriteOptions(TimeToLive: TimeSpan.FromHours(3)));
        await opened.Store.SetAsync("raw/binary", new byte[] { 0, 1, 2, 0xFF, 0xFD }, new StateWriteOptions(TimeToLive: StateTimeToLive.KeepCurrent));
        await opened.Store.ListAppendAsync("raw/log", [new byte[] { 1 }, new byte[] { 2, 0xFF }], TimeSpan.FromHours(1));
    }

    private static Task<ServiceProvider> SessionAppAsync(ToolStore store)
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(store.ConfigPath).Build();
        var services = new ServiceCollection();
        services.AddStateKit(configuration.GetSection("StateKit")).AddSessions<ToolTestSession>();
        return Task.FromResult(services.BuildServiceProvider());
    }

    private static List<JsonElement> Rows((int Exit, string Output, string Errors) run)
    {
        Assert.That(run.Exit, Is.EqualTo(ExitCodes.Ok).Or.EqualTo(ExitCodes.Damaged), run.Errors);
        return ToolRun.JsonLines(run.Output);
    }

    private static string TempFile() => Path.Combine(Directory.CreateTempSubdirectory("statekit-export-").FullName, "state.skx");

    private static List<string> Body(string path) => Body(System.IO.File.ReadAllBytes(path));

    private static List<string> Body(byte[] bytes)
    {
        var lines = Encoding.ASCII.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        return lines.Skip(1).Take(lines.Count - 2).ToList(); // without the header (its time) and the trailer (its hash over the header)
    }

    private static string WithoutExpiry(JsonDocument line) =>
        JsonSerializer.Serialize(line.RootElement.EnumerateObject().Where(p => p.Name != "x").ToDictionary(p => p.Name, p => p.Value), Web);
}
