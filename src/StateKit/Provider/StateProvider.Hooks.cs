using Microsoft.Extensions.DependencyInjection;

namespace StateKit.Internal;

/// <content>The extension points: validators, authorizers, audit sinks and the principal.</content>
internal sealed partial class StateProvider
{
    private string? PrincipalName => _principal?.Principal?.Identity?.Name;

    private void Validate<T>(StateScope scope, string key, T value)
    {
        var validators = _validators.GetOrAdd(typeof(T), _ => _services.GetServices<IStateValidator<T>>().Cast<object>().ToArray());
        if (validators.Length == 0)
        {
            return;
        }

        var problems = new List<string>();
        foreach (IStateValidator<T> validator in validators)
        {
            problems.AddRange(validator.Validate(scope, key, value));
        }

        if (problems.Count > 0)
        {
            throw new StateValidationException(scope, key, problems);
        }
    }

    private async ValueTask AuthorizeAsync(StateAccess access, StateScope scope, string? key, CancellationToken cancellationToken)
    {
        _ = scope.StorePrefix; // throws for default(StateScope); the prefix is computed once per scope
        cancellationToken.ThrowIfCancellationRequested();
        if (_authorizers.Length == 0)
        {
            return;
        }

        var principal = _principal?.Principal;
        foreach (var authorizer in _authorizers)
        {
            if (!await authorizer.AuthorizeAsync(principal, access, scope, key, cancellationToken).ConfigureAwait(false))
            {
                throw new StateAccessDeniedException(access, scope, key, principal?.Identity?.Name);
            }
        }
    }

    private async ValueTask ChangedAsync(StateChange change, CancellationToken cancellationToken)
    {
        foreach (var sink in _auditSinks)
        {
            await sink.OnChangeAsync(change, cancellationToken).ConfigureAwait(false);
        }

        if (change.Kind != StateChangeKind.Restore)
        {
            await CountForAutoCheckpointAsync(change.Scope, cancellationToken).ConfigureAwait(false);
        }
    }
}
