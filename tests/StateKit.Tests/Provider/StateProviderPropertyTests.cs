using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;

namespace StateKit.Tests.Provider;

/// <summary>
/// Property-based: any sequence of set / update / delete / checkpoint / restore leaves the provider equal to a
/// plain dictionary model that applies the same operations.
/// </summary>
public sealed class StateProviderPropertyTests
{
    /// <summary>One operation: 0 set, 1 update (add), 2 delete, 3 checkpoint, 4 restore a checkpoint.</summary>
    public sealed record Op(int Kind, int Key, int Value);

    [Test]
    public void RandomOperationSequences_MatchADictionaryModel()
    {
        var op = from kind in Gen.Choose(0, 4)
                 from key in Gen.Choose(0, 4)
                 from value in Gen.Choose(-50, 50)
                 select new Op(kind, key, value);
        var property = Prop.ForAll(Gen.ArrayOf(op).ToArbitrary(), (Op[] ops) => Run(ops).GetAwaiter().GetResult());
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    private static async Task<bool> Run(Op[] ops)
    {
        await using var services = new ServiceCollection().AddStateKit().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IStateProvider>();
        var scope = StateScope.Local("model");
        var model = new Dictionary<string, int>();
        var checkpoints = new List<(string Id, Dictionary<string, int> State)>();
        foreach (var (kind, keyIndex, value) in ops)
        {
            var key = "k" + keyIndex;
            switch (kind)
            {
                case 0:
                    await provider.SetAsync(scope, key, value);
                    model[key] = value;
                    break;
                case 1:
                    await provider.UpdateAsync<int>(scope, key, current => current + value);
                    model[key] = model.GetValueOrDefault(key) + value;
                    break;
                case 2:
                    Assert.That(await provider.DeleteAsync(scope, key), Is.EqualTo(model.Remove(key)), "delete reports whether the key existed");
                    break;
                case 3:
                    var checkpoint = await provider.CreateCheckpointAsync(scope);
                    checkpoints.Add((checkpoint.Id, new Dictionary<string, int>(model)));
                    break;
                default:
                    if (checkpoints.Count > 0)
                    {
                        var (id, state) = checkpoints[Math.Abs(value) % checkpoints.Count];
                        await provider.RestoreCheckpointAsync(scope, id);
                        model = new Dictionary<string, int>(state);
                    }

                    break;
            }

            var keys = await provider.ListKeysAsync(scope).ToListAsync();
            var values = await provider.GetManyAsync<int>(scope, keys);
            if (!values.OrderBy(v => v.Key).Select(v => (v.Key, v.Value.Value)).SequenceEqual(model.OrderBy(m => m.Key).Select(m => (m.Key, m.Value))))
            {
                return false;
            }
        }

        return true;
    }
}
