namespace StateKit;

/// <summary>The default values of every StateKit option, in one place.</summary>
internal static class StateKitDefaults
{
    public const int MaxKeyLength = 512;
    public const int MaxKeyLengthLimit = 4096;
    public const int MaxKeyPrefixLength = 128;
    public const int MaxValueBytes = 16 * 1024 * 1024;
    public const int MaxAppendItems = 10_000;
    public const int CompressionThresholdBytes = 8 * 1024;
    public const string StoreType = "memory";
    public static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(1);
}
