using NUnit.Framework;

namespace StateKit.Tests.Testing;

/// <summary>How a conformance fixture wraps the adapter under test: each adapter's suite runs once per value.</summary>
public enum StorePipeline
{
    /// <summary>The adapter as it is.</summary>
    Bare,

    /// <summary>The adapter inside a <see cref="PassThroughStore"/>: the delegating base must change nothing.</summary>
    PassThrough,
}

/// <summary>A decorator that overrides nothing: whatever the suite sees through it comes from <see cref="DelegatingStateStore"/>.</summary>
public sealed class PassThroughStore(IStateStore inner) : DelegatingStateStore(inner);

/// <summary>Applies a <see cref="StorePipeline"/>.</summary>
public static class PipelineExtensions
{
    /// <summary>Wraps <paramref name="store"/> as <paramref name="pipeline"/> says.</summary>
    /// <param name="pipeline">The pipeline.</param>
    /// <param name="store">The adapter.</param>
    /// <returns>The store the suite uses.</returns>
    public static IStateStore Wrap(this StorePipeline pipeline, IStateStore store) => pipeline switch
    {
        StorePipeline.Bare => store,
        StorePipeline.PassThrough => new PassThroughStore(store),
        _ => throw new AssertionException($"unknown pipeline {pipeline}"),
    };
}
