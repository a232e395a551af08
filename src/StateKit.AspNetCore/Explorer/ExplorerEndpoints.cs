using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StateKit.Internal;

namespace StateKit.AspNetCore.Internal;

/// <summary>The State Explorer's page, assets and JSON API. Every read and action goes through the store or the provider of the store named.</summary>
internal static class ExplorerEndpoints
{
    private const string CsrfHeader = "X-StateKit-Explorer";

    public static void Map(RouteGroupBuilder group, StateKitExplorerOptions options)
    {
        group.MapGet("/", (HttpContext context) =>
            context.Request.Path.Value?.EndsWith('/') == true
                ? Asset("index.html", "text/html; charset=utf-8")
                : Results.Redirect(context.Request.PathBase + context.Request.Path + "/"));
        group.MapGet("/assets/{name}", (string name) => name switch
        {
            "explorer.js" => Asset(name, "text/javascript; charset=utf-8"),
            "explorer.css" => Asset(name, "text/css; charset=utf-8"),
            _ => Results.NotFound(),
        });

        var api = group.MapGroup("/api");
        api.MapGet("/info", (HttpContext context, CancellationToken cancellationToken) => InfoAsync(context, options, cancellationToken));
        api.MapGet("/scopes", async (HttpContext context, string? store, string? filter, CancellationToken cancellationToken) =>
        {
            var inventory = await StoreInventory.ReadAsync(Store(context, store).Store, string.Empty, cancellationToken).ConfigureAwait(false);
            var scopes = inventory.Scopes().Where(s => string.IsNullOrEmpty(filter) || s.Scope.Contains(filter, StringComparison.OrdinalIgnoreCase)).ToList();
            return Results.Json(new
            {
                scopes = scopes.Take(options.MaxListed).Select(s => new { shard = s.Scope, scope = ScopeOf(s.Scope)?.ToString(), entries = s.Entries, lists = s.Lists }),
                truncated = scopes.Count > options.MaxListed,
            });
        });
        api.MapGet("/scope", async (HttpContext context, string? store, string shard, CancellationToken cancellationToken) =>
        {
            var (s, provider) = Store(context, store);
            var prefix = shard.StartsWith("session/", StringComparison.Ordinal) ? string.Empty : shard + "/";
            var inventory = await StoreInventory.ReadAsync(s, prefix, cancellationToken).ConfigureAwait(false);
            var entries = inventory.Entries.Where(k => StoreKeyLayout.ShardOf(k) == shard).Take(options.MaxListed).ToList();
            var found = await s.ReadAllAsync(entries, cancellationToken).ConfigureAwait(false);
            var scope = ScopeOf(shard);
            var lists = new List<object>();
            var otherLists = new List<object>();
            foreach (var list in inventory.Lists.Where(l => StoreKeyLayout.ShardOf(l.Key) == shard).Take(options.MaxListed))
            {
                var length = await s.ListLengthAsync(list.Key, cancellationToken).ConfigureAwait(false);
                var listKey = scope is not null && list.Key.StartsWith(shard + "/l/", StringComparison.Ordinal) ? list.Key[(shard.Length + 3)..] : null;
                (scope is null || listKey is not null ? lists : otherLists).Add(new { key = list.Key, listKey, expiresAt = list.ExpiresAt, length });
            }

            var checkpoints = scope is { } sc ? await provider.ListCheckpointsAsync(sc, cancellationToken).ConfigureAwait(false) : [];
            return Results.Json(new
            {
                shard,
                scope = scope?.ToString(),
                // A scope's values first; its history, checkpoint and index entries apart (shown as stored keys).
                entries = entries.Where(k => found.ContainsKey(k) && (scope is null || ValueKey(k) is not null)).Select(k => new { key = k, version = found[k].Version, expiresAt = found[k].ExpiresAt, valueKey = ValueKey(k)?.Key }),
                other = entries.Where(k => found.ContainsKey(k) && scope is not null && ValueKey(k) is null).Select(k => new { key = k, version = found[k].Version, expiresAt = found[k].ExpiresAt }),
                lists,
                otherLists,
                checkpoints = checkpoints.Select(c => new { c.Id, c.Name, c.CreatedAt, c.EntryCount, c.ListCount }),
            });
        });
        api.MapGet("/entry", async (HttpContext context, string? store, string key, CancellationToken cancellationToken) =>
        {
            var (s, provider) = Store(context, store);
            var entry = await s.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (entry is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No entry '{key}'.");
            }

            var (text, encoding) = StoredValueText.Describe(entry.Value, key);
            IReadOnlyList<StateVersionInfo> history = [];
            if (ValueKey(key) is { } scoped)
            {
                history = await provider.GetHistoryAsync(scoped.Scope, scoped.Key, cancellationToken).ConfigureAwait(false);
            }

            return Results.Json(new
            {
                key,
                version = entry.Version,
                expiresAt = entry.ExpiresAt,
                encoding,
                value = text,
                scope = ValueKey(key)?.Scope.ToString(),
                valueKey = ValueKey(key)?.Key,
                history = history.Select(h => new { h.Version, h.WrittenAt }),
            });
        });
        api.MapGet("/list", async (HttpContext context, string? store, string key, long? start, CancellationToken cancellationToken) =>
        {
            var s = Store(context, store).Store;
            var from = Math.Max(0, start ?? 0);
            var items = await s.ListRangeAsync(key, from, from + options.MaxListed - 1, cancellationToken).ConfigureAwait(false);
            return Results.Json(new
            {
                key,
                start = from,
                length = await s.ListLengthAsync(key, cancellationToken).ConfigureAwait(false),
                items = items.Select(i => StoredValueText.Describe(i, key).Text),
            });
        });
        api.MapGet("/version", async (HttpContext context, string? store, string key, long version, CancellationToken cancellationToken) =>
        {
            var scoped = ValueKey(key) ?? throw new ArgumentException($"'{key}' is not a value of a scope: it has no history.");
            var value = await Store(context, store).Provider.GetVersionAsync<JsonElement>(scoped.Scope, scoped.Key, version, cancellationToken).ConfigureAwait(false);
            return value is null
                ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"Version {version} of '{key}' is not kept.")
                : Results.Json(new { key, version = value.Version, value = JsonSerializer.Serialize(value.Value, Indented) });
        });
        api.MapGet("/diff", async (HttpContext context, string? store, string key, long from, long to, CancellationToken cancellationToken) =>
        {
            var scoped = ValueKey(key) ?? throw new ArgumentException($"'{key}' is not a value of a scope: it has no history.");
            var diff = await Store(context, store).Provider.DiffAsync(scoped.Scope, scoped.Key, from, to, cancellationToken).ConfigureAwait(false);
            return Results.Json(diff.Select(d => new { d.Path, kind = d.Kind.ToString().ToLowerInvariant(), d.OldValue, d.NewValue }));
        });
        api.MapPost("/checkpoints/restore", async (HttpContext context, CheckpointAction action, CancellationToken cancellationToken) =>
        {
            if (Refused(context, options) is { } refused)
            {
                return refused;
            }

            await Store(context, action.Store).Provider.RestoreCheckpointAsync(StateScope.Parse(action.Scope), action.Id ?? throw new ArgumentException("A checkpoint id is required."), cancellationToken).ConfigureAwait(false);
            return Results.Json(new { restored = action.Id });
        });
        api.MapPost("/checkpoints/fork", async (HttpContext context, CheckpointAction action, CancellationToken cancellationToken) =>
        {
            if (Refused(context, options) is { } refused)
            {
                return refused;
            }

            var target = StateScope.Parse(action.Target ?? throw new ArgumentException("A target scope is required."));
            var provider = Store(context, action.Store).Provider;
            var (values, lists) = action.AsOf is { } asOf
                ? await provider.ForkAsOfAsync(StateScope.Parse(action.Scope), target, asOf, cancellationToken).ConfigureAwait(false)
                : await provider.ForkAsync(StateScope.Parse(action.Scope), target, string.IsNullOrEmpty(action.Id) ? null : action.Id, cancellationToken).ConfigureAwait(false);
            return Results.Json(new { target = target.ToString(), values, lists });
        });
        api.MapGet("/changes", ChangesAsync);
        api.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidStateKeyException)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: ex.Message);
            }
            catch (Exception ex) when (ex is StateNotFoundException or KeyNotFoundException)
            {
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: ex.Message);
            }
            catch (InvalidOperationException ex) when (ex is not ObjectDisposedException)
            {
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible", detail: ex.Message);
            }
            catch (StateConflictException ex)
            {
                return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: ex.Message);
            }
            catch (StateAccessDeniedException ex)
            {
                return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: ex.Message);
            }
            catch (NotSupportedException ex)
            {
                return Results.Problem(statusCode: StatusCodes.Status501NotImplemented, title: "Not supported", detail: ex.Message);
            }
        });
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The body of a checkpoint action.</summary>
    internal sealed record CheckpointAction(string? Store, string Scope, string? Id, string? Target, DateTimeOffset? AsOf = null);

    private static async Task<IResult> InfoAsync(HttpContext context, StateKitExplorerOptions options, CancellationToken cancellationToken)
    {
        var names = new List<string> { string.Empty };
        names.AddRange(context.RequestServices.GetService<StateKitMarker>()?.StoreNames ?? []);
        var stores = new List<object>();
        foreach (var name in names)
        {
            var (store, _) = Store(context, name);
            var watch = Stopwatch.StartNew();
            string? error = null;
            try
            {
                await store.ExistsAsync("statekit-explorer-probe", cancellationToken).ConfigureAwait(false);
            }
            catch (StateStoreException ex)
            {
                error = ex.Message;
            }

            stores.Add(new
            {
                name,
                pipeline = store.DescribePipeline(),
                healthy = error is null,
                error,
                milliseconds = Math.Round(watch.Elapsed.TotalMilliseconds, 1),
                changeFeed = store.GetService<IStateChangeFeed>() is not null,
            });
        }

        return Results.Json(new { stores, readOnly = options.ReadOnly });
    }

    private static async Task ChangesAsync(HttpContext context, string? store, string? prefix, CancellationToken cancellationToken)
    {
        var feed = Store(context, store).Store.GetService<IStateChangeFeed>();
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        if (feed is null)
        {
            await context.Response.WriteAsync("event: unsupported\ndata: {}\n\n", cancellationToken).ConfigureAwait(false);
            return;
        }

        var gate = new SemaphoreSlim(1, 1);
        await using var subscription = await feed.SubscribeAsync(prefix ?? string.Empty, async (change, token) =>
        {
            var line = "data: " + JsonSerializer.Serialize(new { key = change.Key, kind = change.Kind.ToString().ToLowerInvariant(), version = change.Version }) + "\n\n";
            await gate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                await context.Response.WriteAsync(line, token).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // The browser went away; the request's end disposes the subscription.
            }
            finally
            {
                gate.Release();
            }
        }, cancellationToken).ConfigureAwait(false);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await context.Response.WriteAsync("event: ready\ndata: {}\n\n", cancellationToken).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The page closed the stream.
        }
    }

    private static IResult? Refused(HttpContext context, StateKitExplorerOptions options)
    {
        if (options.ReadOnly)
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Read-only", detail: "The State Explorer is read-only: it restores and forks nothing.");
        }

        return context.Request.Headers.ContainsKey(CsrfHeader)
            ? null
            : Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Bad request", detail: $"An Explorer action needs the {CsrfHeader} header.");
    }

    private static (IStateStore Store, IStateProvider Provider) Store(HttpContext context, string? name)
    {
        var services = context.RequestServices;
        if (string.IsNullOrEmpty(name))
        {
            return (services.GetRequiredService<IStateStore>(), services.GetRequiredService<IStateProvider>());
        }

        if (services.GetService<StateKitMarker>()?.StoreNames.Contains(name) != true)
        {
            throw new ArgumentException($"There is no store named '{name}'.");
        }

        return (services.GetRequiredKeyedService<IStateStore>(name), services.GetRequiredKeyedService<IStateProvider>(name));
    }

    /// <summary>The provider scope a shard is (<c>persistent/agent-1</c> → <c>persistent:agent-1</c>), or none (agents' and other keys).</summary>
    private static StateScope? ScopeOf(string shard)
    {
        var slash = shard.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || shard.IndexOf('/', slash + 1) >= 0 || StoreKeyLayout.TierOf(shard) is null || shard.StartsWith(StoreKeyLayout.SessionRecords, StringComparison.Ordinal) || shard.StartsWith(StoreKeyLayout.SessionScopes, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return StateScope.Parse(shard[..slash] + ":" + shard[(slash + 1)..]);
        }
        catch (Exception ex) when (ex is FormatException or InvalidStateKeyException)
        {
            return null;
        }
    }

    /// <summary>A scope's value key (<c>{tier}/{owner}/v/{key}</c>) as the scope and the key the app uses.</summary>
    private static (StateScope Scope, string Key)? ValueKey(string storeKey)
    {
        var first = storeKey.IndexOf('/', StringComparison.Ordinal);
        var second = first < 0 ? -1 : storeKey.IndexOf('/', first + 1);
        if (second < 0 || !storeKey.AsSpan(second).StartsWith("/v/") || ScopeOf(storeKey[..second]) is not { } scope)
        {
            return null;
        }

        return (scope, storeKey[(second + 3)..]);
    }

    private static IResult Asset(string name, string contentType)
    {
        var stream = typeof(ExplorerEndpoints).Assembly.GetManifestResourceStream("StateKit.AspNetCore.Explorer." + name);
        return stream is null ? Results.NotFound() : Results.Stream(stream, contentType);
    }
}
