namespace StateKit;

/// <summary>
/// Declares, on a package's assembly, the <see cref="IStateStoreFactory"/> it provides, so that
/// <c>StateKit:Store:Type</c> can choose that backend from configuration alone when the package is referenced
/// (<c>[assembly: StateStoreFactory(typeof(MyStoreFactory))]</c>). The factory needs a parameterless constructor,
/// public or not.
/// </summary>
/// <remarks>
/// The core looks for the attribute only when no registered factory serves the configured type, in the assemblies of
/// the application's dependency manifest that reference StateKit and in the assemblies already loaded.
/// </remarks>
/// <param name="factoryType">The factory type.</param>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class StateStoreFactoryAttribute(Type factoryType) : Attribute
{
    /// <summary>Gets the factory type.</summary>
    public Type FactoryType { get; } = factoryType ?? throw new ArgumentNullException(nameof(factoryType));
}
