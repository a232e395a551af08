namespace StateKit;

/// <summary>
/// Declares a state type immutable: no code changes an instance after it is created. With an L1 tier in the pipeline
/// (<c>UseL1()</c>), the provider then answers repeated reads of an unchanged value with the instance it decoded the first
/// time, without decoding again, and every caller shares that instance. Declare only types whose instances nobody
/// mutates (records with init-only members and immutable collections); for other types every read decodes its own copy.
/// </summary>
/// <remarks>
/// Strings, primitives, enums, <see cref="decimal"/>, <see cref="DateTime"/>, <see cref="DateTimeOffset"/>,
/// <see cref="TimeSpan"/> and <see cref="Guid"/> are immutable without it. Types you cannot annotate go in
/// <see cref="StateProviderOptions.ImmutableTypes"/>.
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class ImmutableStateAttribute : Attribute;
