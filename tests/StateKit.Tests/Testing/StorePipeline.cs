using NUnit.Framework;

namespace StateKit.Tests.Testing;

/// <summary>How a conformance fixture wraps the adapter under test: each adapter's suite runs once per value.</summary>
public enum StorePipeline
{
    /// <summary>The adapter as it is.</summary>
    Bare,

    /// <summary>The adapter inside a <see cref="PassThroughStore"/>: the delegating base must change nothing.</summary>
    PassThrough,

    /// <summary>The adapter behind an <see cref="L1StateStore"/>: the in-process tier must change nothing a caller can see.</summary>
    L1,
}

/// <summary>A decorator that overrides nothing: whatever the suite sees through it comes from <see cref="DelegatingStateStore"/>.</summary>
public sealed class PassThroughStore(IStateStore inner) : DelegatingStateStore(inner);

/// <summary>Applies a <see cref="StorePipeline"/>.</summary>
public static class PipelineExtensions
{
    /// <summary>Wraps <paramref name="store"/> as <paramref name="pipeline"/> says.</summary>
    /// <param name="pipeline">The pipeline.</param>
    /// <param name="store">The adapter.</param>
    /// <param name="time">The suite's clock, for decorators that keep time.</param>
    /// <returns>The store the suite uses.</returns>
    public static IStateStore Wrap(this StorePipeline pipeline, IStateStore store, TimeProvider time) => pipeline switch
    {
        StorePipeline.Bare => store,
        StorePipeline.PassThrough => new PassThroughStore(store),
        StorePipeline.L1 => new L1StateStore(store, new L1StateStoreOptions(), time),
        _ => throw new AssertionException($"unknown pipeline {pipeline}"),
    };
}
