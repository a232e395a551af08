using System.ComponentModel;
using System.Text.Json;
using Spectre.Console.Cli;
using StateKit.Internal;

namespace StateKit.Tool.Commands;

/// <summary>Finds session records (<c>sessions/{name}/{id}</c>) without knowing the app's session type.</summary>
internal static class SessionRecords
{
    /// <summary>The records of a session id (one per session type that has it), or of every session.</summary>
    public static async Task<List<(string Name, string Id, string Key)>> FindAsync(IStateStore store, string? name, string? id, CancellationToken cancellationToken)
    {
        var found = new List<(string, string, string)>();
        var prefix = StoreKeyLayout.SessionRecords + (name is null ? string.Empty : name + "/");
        await foreach (var key in store.ListKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var rest = key[StoreKeyLayout.SessionRecords.Length..];
            var slash = rest.LastIndexOf('/');
            if (slash > 0 && (id is null || rest[(slash + 1)..] == id))
            {
                found.Add((rest[..slash], rest[(slash + 1)..], key));
            }
        }

        found.Sort((a, b) => string.CompareOrdinal(a.Item3, b.Item3));
        return found;
    }

    /// <summary>The scope id a session record names (its <c>ScopeId</c>), or the session id for records without one.</summary>
    public static string ScopeOf(StateEntry record, string id)
    {
        var value = StoredValueText.Json(record.Value, record.Key);
        if (value is JsonElement { ValueKind: JsonValueKind.Object } element)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name.Equals("ScopeId", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind == JsonValueKind.String)
                {
                    return property.Value.GetString()!;
                }
            }
        }

        return id;
    }
}

/// <summary>Options of the session commands.</summary>
internal class SessionSettings : StoreSettings
{
    /// <summary>Gets or sets the session type's name.</summary>
    [CommandOption("--name <NAME>")]
    [Description("Only sessions of this session type (its full name, as in the keys).")]
    public string? Name { get; set; }
}

/// <summary><c>sessions list</c>.</summary>
internal sealed class SessionListCommand(ToolConsole console) : AsyncCommand<SessionSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, SessionSettings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var records = await SessionRecords.FindAsync(opened.Store, settings.Name, null, cancellationToken).ConfigureAwait(false);
        var entries = await opened.Store.ReadAllAsync(records.Select(r => r.Key).ToList(), cancellationToken).ConfigureAwait(false);
        console.Rows(settings.Json, ["id", "type", "version", "expires"], records.Where(r => entries.ContainsKey(r.Key))
            .Select(r => (IReadOnlyList<object?>)[r.Id, r.Name, entries[r.Key].Version, entries[r.Key].ExpiresAt]));
        return ExitCodes.Ok;
    }
}

/// <summary>Options of a command on one session.</summary>
internal class OneSessionSettings : SessionSettings
{
    /// <summary>Gets or sets the session id.</summary>
    [CommandArgument(0, "<ID>")]
    public string Id { get; set; } = string.Empty;

    /// <summary>Gets or sets a value indicating whether the change is confirmed.</summary>
    [CommandOption("-y|--yes")]
    [Description("Confirm the deletion (required when not on a terminal).")]
    public bool Yes { get; set; }
}

/// <summary><c>sessions show ID</c>: the record, decoded, and the keys of its scope.</summary>
internal sealed class SessionShowCommand(ToolConsole console) : AsyncCommand<OneSessionSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, OneSessionSettings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var records = await SessionRecords.FindAsync(opened.Store, settings.Name, settings.Id, cancellationToken).ConfigureAwait(false);
        var shown = 0;
        foreach (var (name, id, key) in records)
        {
            if (await opened.Store.GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } record)
            {
                continue;
            }

            var scope = StateScope.Session(SessionRecords.ScopeOf(record, id));
            var keys = new List<string>();
            await foreach (var scoped in opened.Provider.ListKeysAsync(scope, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                keys.Add(scoped);
            }

            keys.Sort(StringComparer.Ordinal);
            console.Object(settings.Json, [("id", id), ("type", name), ("version", record.Version), ("expires", record.ExpiresAt), ("scope", scope.ToString()), ("keys", settings.Json ? keys : string.Join(", ", keys)), ("record", settings.Json ? StoredValueText.Json(record.Value, key) : Environment.NewLine + StoredValueText.Describe(record.Value, key).Text)]);
            shown++;
        }

        return shown > 0 ? ExitCodes.Ok : throw new ToolException(ExitCodes.NotFound, $"no session '{settings.Id}'.");
    }
}

/// <summary><c>sessions delete ID</c>: the record, the scope's values and lists, and its owner entry, as the session manager deletes them.</summary>
internal sealed class SessionDeleteCommand(ToolConsole console) : AsyncCommand<OneSessionSettings>
{
    /// <inheritdoc />
    public override async Task<int> ExecuteAsync(CommandContext context, OneSessionSettings settings, CancellationToken cancellationToken)
    {
        await using var opened = await settings.OpenAsync(cancellationToken).ConfigureAwait(false);
        var records = await SessionRecords.FindAsync(opened.Store, settings.Name, settings.Id, cancellationToken).ConfigureAwait(false);
        if (records.Count == 0)
        {
            throw new ToolException(ExitCodes.NotFound, $"no session '{settings.Id}'.");
        }

        new CheckpointSettings { Yes = settings.Yes }.Confirm(console, $"delete session {settings.Id} and everything in its scope");
        foreach (var (name, id, key) in records)
        {
            if (await opened.Store.GetAsync(key, cancellationToken).ConfigureAwait(false) is not { } record)
            {
                continue;
            }

            var scopeId = SessionRecords.ScopeOf(record, id);
            await opened.Store.DeleteAsync(key, record.Version, cancellationToken).ConfigureAwait(false);
            var cleared = await opened.Provider.ClearScopeAsync(StateScope.Session(scopeId), cancellationToken).ConfigureAwait(false);
            await opened.Store.DeleteAsync(new SessionKeys(name).Owner(scopeId), cancellationToken: cancellationToken).ConfigureAwait(false);
            console.Note($"deleted session {id} ({name}) and {cleared} keys of its scope");
        }

        return ExitCodes.Ok;
    }
}
