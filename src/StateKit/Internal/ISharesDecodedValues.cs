namespace StateKit.Internal;

/// <summary>
/// A capability of a pipeline layer that hands out the same <see cref="StateEntry"/> instance for an unchanged value
/// (the in-process tier), so the provider may keep decoded values keyed by entry. Found with
/// <c>store.GetService&lt;ISharesDecodedValues&gt;()</c>, whatever layer provides it.
/// </summary>
internal interface ISharesDecodedValues
{
}
