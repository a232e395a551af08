using BenchmarkDotNet.Running;

// Server benchmarks read STATEKIT_POSTGRES and STATEKIT_REDIS (as the tests do).
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point.</summary>
public partial class Program;
