using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StateKit.Internal;

/// <summary>
/// Layers that configuration alone turns on: a store's <c>L1</c>, <c>WriteBehind</c> or <c>Encryption</c> section with
/// <c>"Enabled": true</c> (under <c>StateKit</c>, a named store's under <c>StateKit:Stores:{name}</c>) adds the layer as
/// <c>UseL1</c> / <c>UseWriteBehind</c> would, bound from that section. A layer added in code is not added twice.
/// </summary>
internal static class ConfiguredLayers
{
    /// <summary>The layers <paramref name="options"/>' configuration turns on that <paramref name="registered"/> lacks; <paramref name="problems"/> gets what is wrong with their settings.</summary>
    public static List<StateStoreLayer> Find(IServiceProvider services, StateKitOptions options, IReadOnlyList<StateStoreLayer> registered, List<string> problems)
    {
        var layers = new List<StateStoreLayer>();
        var marker = services.GetService<StateKitMarker>();
        if (marker is null)
        {
            return layers;
        }

        var name = options.StoreName;
        if (!registered.Any(l => l.Stage == StateStoreStage.Cache) && Enabled(marker.Section(services, name, "L1")) is { } l1Section)
        {
            var l1 = new L1StateStoreOptions();
            l1Section.Bind(l1);
            Check(l1, options.SectionPath + ":L1", problems);
            layers.Add(new StateStoreLayer(StateStoreStage.Cache, "l1", L1StateStore.Layer(_ => l1)));
        }

        if (!registered.Any(l => l.Stage == StateStoreStage.WriteBehind) && Enabled(marker.Section(services, name, "WriteBehind")) is { } wbSection)
        {
            var writeBehind = new WriteBehindOptions();
            wbSection.Bind(writeBehind);
            Check(writeBehind, options.SectionPath + ":WriteBehind", problems);
            layers.Add(new StateStoreLayer(StateStoreStage.WriteBehind, "write-behind", WriteBehindStateStore.Layer(_ => writeBehind)));
        }

        if (!registered.Any(l => l.Stage == StateStoreStage.Encryption) && Enabled(marker.Section(services, name, "Encryption")) is { } encryptionSection)
        {
            var encryption = new StateEncryptionOptions();
            encryptionSection.Bind(encryption);
            var found = StateEncryptionKeyRing.Problems(encryption, options.SectionPath + ":Encryption");
            problems.AddRange(found);
            if (found.Count == 0)
            {
                var ring = StateEncryptionKeyRing.FromOptions(encryption, options.SectionPath + ":Encryption");
                layers.Add(new StateStoreLayer(StateStoreStage.Encryption, "encryption", EncryptingStateStore.Layer(_ => (ring, encryption))));
            }
        }

        return layers;
    }

    private static IConfiguration? Enabled(IConfiguration? section) =>
        section is not null && bool.TryParse(section["Enabled"], out var enabled) && enabled ? section : null;

    /// <summary>Adds the DataAnnotations failures of <paramref name="settings"/> to <paramref name="problems"/>, each naming its option path.</summary>
    /// <returns>Whether there were none.</returns>
    internal static bool Check(object settings, string path, List<string> problems)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(settings, new ValidationContext(settings), results, validateAllProperties: true))
        {
            return true;
        }

        problems.AddRange(results.Select(r => $"{path}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        return false;
    }
}

/// <summary>Validates a layer's named options at start: their DataAnnotations and any further checks, every failure naming the option path.</summary>
/// <typeparam name="T">The options type.</typeparam>
/// <param name="name">The store's name (the options' name).</param>
/// <param name="path">The configuration path, e.g. <c>StateKit:Stores:durable:WriteBehind</c>.</param>
/// <param name="more">Checks beyond the DataAnnotations, each problem naming its option path.</param>
internal sealed class LayerOptionsValidator<T>(string name, string path, Func<T, IEnumerable<string>>? more = null) : Microsoft.Extensions.Options.IValidateOptions<T>
    where T : class
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? optionsName, T options)
    {
        if (!string.Equals(optionsName ?? string.Empty, name, StringComparison.Ordinal))
        {
            return Microsoft.Extensions.Options.ValidateOptionsResult.Skip;
        }

        var problems = new List<string>();
        ConfiguredLayers.Check(options, path, problems);
        problems.AddRange(more?.Invoke(options) ?? []);
        return problems.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(problems);
    }
}
