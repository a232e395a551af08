using System.Text.Json;

namespace StateKit.Internal;

/// <summary>
/// Member-by-member comparison of two JSON values: objects by member name, arrays by index. Paths are JSON Pointers
/// (RFC 6901: <c>/profile/name</c>, <c>/tags/2</c>, <c>~1</c> for a slash and <c>~0</c> for a tilde in a name), so a
/// member named <c>a.b</c> (<c>/a.b</c>) never shares a path with member <c>b</c> of <c>a</c> (<c>/a/b</c>).
/// </summary>
internal static class JsonDiff
{
    public static void Compare(string path, JsonElement before, JsonElement after, List<StateDiffEntry> changes)
    {
        if (before.ValueKind == JsonValueKind.Object && after.ValueKind == JsonValueKind.Object)
        {
            var newMembers = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var member in after.EnumerateObject())
            {
                newMembers[member.Name] = member.Value;
            }

            foreach (var member in before.EnumerateObject())
            {
                var memberPath = path + "/" + Escape(member.Name);
                if (newMembers.Remove(member.Name, out var newValue))
                {
                    Compare(memberPath, member.Value, newValue, changes);
                }
                else
                {
                    changes.Add(new StateDiffEntry(memberPath, StateDiffKind.Removed, member.Value.GetRawText(), null));
                }
            }

            foreach (var (name, value) in newMembers)
            {
                changes.Add(new StateDiffEntry(path + "/" + Escape(name), StateDiffKind.Added, null, value.GetRawText()));
            }

            return;
        }

        if (before.ValueKind == JsonValueKind.Array && after.ValueKind == JsonValueKind.Array)
        {
            var oldItems = before.EnumerateArray().ToArray();
            var newItems = after.EnumerateArray().ToArray();
            for (var i = 0; i < Math.Max(oldItems.Length, newItems.Length); i++)
            {
                var itemPath = path + "/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (i >= newItems.Length)
                {
                    changes.Add(new StateDiffEntry(itemPath, StateDiffKind.Removed, oldItems[i].GetRawText(), null));
                }
                else if (i >= oldItems.Length)
                {
                    changes.Add(new StateDiffEntry(itemPath, StateDiffKind.Added, null, newItems[i].GetRawText()));
                }
                else
                {
                    Compare(itemPath, oldItems[i], newItems[i], changes);
                }
            }

            return;
        }

        // Here at least one side is a scalar (or the kinds differ): compare kind and text.
        if (before.ValueKind != after.ValueKind || before.GetRawText() != after.GetRawText())
        {
            changes.Add(new StateDiffEntry(path, StateDiffKind.Modified, before.GetRawText(), after.GetRawText()));
        }
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
