namespace StateKit.Internal;

/// <summary>Wraps a user's store-creating delegate (<c>builder.UseStore(sp => …)</c>).</summary>
internal sealed class DelegateStateStoreFactory(Func<IServiceProvider, IStateStore> factory) : IStateStoreFactory
{
    public const string Type = "custom";

    public string StoreType => Type;

    public IEnumerable<string> Validate(IServiceProvider services, StateKitOptions options) => [];

    public IStateStore Create(IServiceProvider services, StateKitOptions options) =>
        factory(services) ?? throw new InvalidOperationException("The delegate given to UseStore returned null.");
}
