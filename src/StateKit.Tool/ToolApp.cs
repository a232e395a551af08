using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;
using Spectre.Console.Cli;
using StateKit.Tool.Commands;

namespace StateKit.Tool;

/// <summary>The command set, and the one place exceptions become messages and exit codes.</summary>
internal static class ToolApp
{
    /// <summary>Runs one command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">Where results go (tables on a terminal, plain text or JSON when redirected).</param>
    /// <param name="errors">Where errors and progress go.</param>
    /// <param name="cancellationToken">Cancels the command (Ctrl+C).</param>
    /// <returns>The exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole output, IAnsiConsole errors, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddSingleton(new ToolConsole(output, errors));
        var app = new CommandApp(new ServiceRegistrar(services));
        app.Configure(config =>
        {
            config.SetApplicationName("statekit");
            config.SetApplicationVersion(typeof(ToolApp).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown");
            config.Settings.Console = output;
            config.Settings.CancellationExitCode = ExitCodes.Cancelled;
            config.SetExceptionHandler((ex, _) => Report(ex, errors));
            config.AddCommand<LsCommand>("ls").WithDescription("List keys and lists (or, with --scopes, scopes) under a prefix, a page at a time.")
                .WithExample("ls", "--store", "\"sqlite:Data Source=app.db\"", "session/");
            config.AddCommand<GetCommand>("get").WithDescription("Show an entry (decoded as JSON), a list, or a scope's value, with version and expiry.");
            config.AddCommand<HistoryCommand>("history").WithDescription("List the kept versions of a scope's key.");
            config.AddCommand<DiffCommand>("diff").WithDescription("Show what changed in a scope's key between two versions.");
            config.AddBranch("checkpoints", branch =>
            {
                branch.SetDescription("List, restore or fork a scope's checkpoints.");
                branch.AddCommand<CheckpointListCommand>("list").WithDescription("List a scope's checkpoints.");
                branch.AddCommand<CheckpointRestoreCommand>("restore").WithDescription("Restore a scope to a checkpoint (all or nothing).");
                branch.AddCommand<CheckpointForkCommand>("fork").WithDescription("Copy a scope, as a checkpoint holds it or as it is now, into an empty scope.");
            });
            config.AddBranch("sessions", branch =>
            {
                branch.SetDescription("List, show or delete sessions.");
                branch.AddCommand<SessionListCommand>("list").WithDescription("List the stored sessions.");
                branch.AddCommand<SessionShowCommand>("show").WithDescription("Show a session's record and its scope's keys.");
                branch.AddCommand<SessionDeleteCommand>("delete").WithDescription("Delete a session's record and everything in its scope.");
            });
            config.AddCommand<ExportCommand>("export").WithDescription("Write every entry and list (versions, expiries) to a checksummed JSON-lines file; --resume continues an interrupted export.")
                .WithExample("export", "--store", "redis:localhost:6379", "state.skx");
            config.AddCommand<ImportCommand>("import").WithDescription("Check an export file whole, then write it into a store with its versions and expiries; safe to run again.");
            config.AddCommand<CopyCommand>("copy").WithDescription("Copy one store into another with versions preserved, catch up from the source's change feed, and verify.")
                .WithExample("copy", "--from", "\"sqlite:Data Source=app.db\"", "--to", "\"postgres:Host=db;Username=app\"");
            config.AddCommand<MigrateCommand>("migrate").WithDescription("copy, then keep following the source's changes until Ctrl+C (or --for), then catch up and verify: switch the app over meanwhile.");
            config.AddCommand<VerifyCommand>("verify").WithDescription("Read every entry and list, check checksums and envelopes, report damaged keys; --against compares two stores.");
        });
        return await app.RunAsync(args, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prints an error the user can act on and returns its exit code.</summary>
    private static int Report(Exception ex, IAnsiConsole errors)
    {
        var (code, message) = ex switch
        {
            ToolException tool => (tool.ExitCode, tool.Message),
            CommandAppException app => (ExitCodes.Usage, app.Message),
            OperationCanceledException => (ExitCodes.Cancelled, "cancelled"),
            StateNotFoundException or SessionNotFoundException => (ExitCodes.NotFound, ex.Message),
            StateCorruptedException => (ExitCodes.Damaged, ex.Message),
            StateStoreUnavailableException or StateStoreConfigurationException or StateSchemaVersionException or OptionsValidationException => (ExitCodes.Store, ex.Message),
            InvalidStateKeyException or InvalidSessionIdException or ArgumentException or FormatException => (ExitCodes.Usage, ex.Message),
            NotSupportedException => (ExitCodes.Store, ex.Message),
            StateStoreException or StateAccessDeniedException => (ExitCodes.Failed, ex.Message),
            InvalidOperationException when ex.Message.Contains("StateKit:", StringComparison.Ordinal) => (ExitCodes.Store, ex.Message),
            InvalidOperationException => (ExitCodes.Failed, ex.Message),
            _ => (ExitCodes.Failed, ex.ToString()),
        };
        errors.MarkupLine($"[red]statekit:[/] {Markup.Escape(message)}");
        return code;
    }

    /// <summary>Lets Spectre.Console.Cli create commands with their services.</summary>
    private sealed class ServiceRegistrar(IServiceCollection services) : ITypeRegistrar
    {
        public ITypeResolver Build() => new Resolver(services.BuildServiceProvider());

        public void Register(Type service, Type implementation) => services.AddSingleton(service, implementation);

        public void RegisterInstance(Type service, object implementation) => services.AddSingleton(service, implementation);

        public void RegisterLazy(Type service, Func<object> factory) => services.AddSingleton(service, _ => factory());

        private sealed class Resolver(ServiceProvider provider) : ITypeResolver, IDisposable
        {
            public object? Resolve(Type? type) => type is null ? null : provider.GetService(type) ?? ActivatorUtilities.CreateInstance(provider, type);

            public void Dispose() => provider.Dispose();
        }
    }
}

/// <summary>The tool's exit codes (documented in the README's "Tools" section).</summary>
internal static class ExitCodes
{
    /// <summary>Done, nothing wrong found.</summary>
    public const int Ok = 0;

    /// <summary>The command line is wrong (unknown option, missing argument, invalid key or scope).</summary>
    public const int Usage = 1;

    /// <summary>A store cannot be opened or reached (wrong connection string, missing configuration, server down).</summary>
    public const int Store = 2;

    /// <summary>Damage or a difference was found (verify, the check after a copy, a conflicting entry).</summary>
    public const int Damaged = 3;

    /// <summary>The export file is truncated, tampered with, or not an export.</summary>
    public const int BadFile = 4;

    /// <summary>The key, checkpoint or session does not exist.</summary>
    public const int NotFound = 5;

    /// <summary>Any other failure.</summary>
    public const int Failed = 6;

    /// <summary>Cancelled (Ctrl+C) before the command finished.</summary>
    public const int Cancelled = 130;
}

/// <summary>A failure the tool explains itself, with its exit code.</summary>
/// <param name="exitCode">The exit code.</param>
/// <param name="message">What went wrong and what to do.</param>
internal sealed class ToolException(int exitCode, string message) : Exception(message)
{
    /// <summary>Gets the exit code.</summary>
    public int ExitCode { get; } = exitCode;
}
