using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StateKit;

/// <summary>
/// Returned by <c>AddStateKit()</c>, and given to the callback of <c>AddStore(name, …)</c> for a named store; satellites
/// add <c>Use…</c> extension methods on it.
/// </summary>
public sealed class StateKitBuilder
{
    internal StateKitBuilder(IServiceCollection services, string name)
    {
        Services = services;
        Name = name;
    }

    /// <summary>Gets the service collection StateKit is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// Gets the name of the store this builder configures: empty (<see cref="Options.DefaultName"/>) for the default store,
    /// the name given to <c>AddStore</c> for a named one. A satellite's <c>Use…</c> method configures its options under
    /// this name (<c>Services.Configure(builder.Name, configure)</c>), so each store keeps its own settings.
    /// </summary>
    public string Name { get; }

    /// <summary>
    /// Adds options of type <typeparamref name="TOptions"/>, bound from <paramref name="path"/> under the configuration
    /// StateKit reads: the section given to <c>AddStateKit(configuration)</c>, else the <c>StateKit</c> section of the
    /// container's <see cref="IConfiguration"/>; for a named store's builder, under its <c>Stores:{name}</c>. The one place
    /// StateKit's sections are bound (layers, sessions, HTTP sessions, agents): a satellite adds its options with it and
    /// goes on with the returned builder (<c>Configure</c>, <c>Validate…</c>).
    /// </summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <param name="path">The path under StateKit's section, e.g. <c>Sessions:Http</c>; empty for the section itself.</param>
    /// <param name="optionsName">The options' name; <see cref="Options.DefaultName"/> when <see langword="null"/>.</param>
    /// <returns>The options builder, bound from configuration first.</returns>
    public OptionsBuilder<TOptions> BindOptions<TOptions>(string path, string? optionsName = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(path);
        var marker = StateKitServiceCollectionExtensions.Marker(Services);
        var store = Name;
        return Services.AddOptions<TOptions>(optionsName ?? Options.DefaultName)
            .Configure<IServiceProvider>((o, sp) => marker.Section(sp, store, path)?.Bind(o));
    }

    /// <summary>Gets whether this builder configures a named store (one added with <c>AddStore</c>).</summary>
    internal bool IsNamed => Name.Length != 0;
}
