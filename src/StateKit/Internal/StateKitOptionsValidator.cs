using Microsoft.Extensions.Options;

namespace StateKit.Internal;

/// <summary>Checks the rules DataAnnotations cannot express; every failure names its option path.</summary>
internal sealed class StateKitOptionsValidator(IServiceProvider services) : IValidateOptions<StateKitOptions>
{
    public ValidateOptionsResult Validate(string? name, StateKitOptions options)
    {
        var failures = new List<string>();
        options.AddSharedProblems(failures, StateKitOptions.SectionName);

        if (options.PurgeInterval < TimeSpan.Zero)
        {
            failures.Add($"StateKit:PurgeInterval must be zero (off) or positive (was {options.PurgeInterval}).");
        }

        if (options.Envelope.CompressionThresholdBytes < 0)
        {
            failures.Add("StateKit:Envelope:CompressionThresholdBytes must be zero or positive.");
        }

        if (options.Envelope.MaxDecodedBytes < 1)
        {
            failures.Add("StateKit:Envelope:MaxDecodedBytes must be positive.");
        }

        if (!Enum.IsDefined(options.Envelope.Compression))
        {
            failures.Add($"StateKit:Envelope:Compression '{options.Envelope.Compression}' is unknown; use None, Brotli or GZip.");
        }

        var factory = StateStoreSelector.Find(services, options.Store.Type, out var problem);
        if (factory is null)
        {
            failures.Add(problem!);
        }
        else
        {
            failures.AddRange(factory.Validate(services, options));
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
