using System.Collections.Concurrent;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// One CrnpClient -> one declared registration in the store, and the store's view of its deliveries
/// -> the resource's status and the per-client metrics. Declared registrations cannot be changed or
/// removed over TCP (the store refuses with FAIL); they go when the resource does (finalizer). A removal
/// by the delivery pool (learnt from <see cref="RemovalFeed"/>) becomes <c>status.lastRemoval</c>, the
/// conditions Registered=False and Removed=True (reason RemovedAfterRetries) and a Warning Event, once:
/// the status records which removal was reported. With <c>reRegister: Always</c> the client is
/// registered again at once.
/// </summary>
internal sealed partial class ClientReconciler(
    IKubernetes kube,
    IRegistrationStore registrations,
    IClientStatusStore clientStatus,
    RemovalFeed removals,
    ClientHealth health,
    EventRecorder recorder,
    OperatorTelemetry telemetry,
    TimeProvider time,
    ILogger<ClientReconciler> logger)
{
    public const string RemovedAfterRetries = "RemovedAfterRetries";
    public static readonly TimeSpan RetryLater = TimeSpan.FromSeconds(30);

    // The delivery figures in a status change with every delivery: they are written at most once per
    // refresh tick (StatusInterval), or a status write, seen by the watch, would reconcile and write again.
    private readonly ConcurrentDictionary<string, long> _figuresTick = new(StringComparer.Ordinal);
    private long _tick;

    /// <summary>A new leadership term: nothing written yet, no samples.</summary>
    public void BeginTerm()
    {
        _figuresTick.Clear();
        health.Clear();
    }

    /// <summary>The periodic refresh: each client's delivery figures may be written once more.</summary>
    public void Tick() => Interlocked.Increment(ref _tick);

    /// <summary>Reconciles one object; returns when to look again, if sooner than the periodic refresh.</summary>
    public async Task<TimeSpan?> ReconcileAsync(string key, CrnpClient? obj, CancellationToken leading)
    {
        if (obj is null)
        {
            Forget(key);
            return null; // gone from the cache: its finalizer already ran
        }
        var meta = obj.Metadata;
        var finalizers = meta.Finalizers ?? [];
        if (meta.DeletionTimestamp is not null)
        {
            Forget(key);
            if (finalizers.Contains(CrnpApi.Finalizer))
            {
                await RemoveAsync(obj.Status?.RegisteredAddress, leading);
                meta.Finalizers = [.. finalizers.Where(f => f != CrnpApi.Finalizer)];
                await ReplaceAsync(obj, leading);
                Log.Unregistered(logger, key, obj.Status?.RegisteredAddress ?? "(none)");
            }
            return null;
        }
        if (!finalizers.Contains(CrnpApi.Finalizer))
        {
            meta.Finalizers = [.. finalizers, CrnpApi.Finalizer];
            await ReplaceAsync(obj, leading);
            return null; // the update comes back through the watch
        }

        var before = KubernetesJson.Serialize(obj.Status ?? new CrnpClientStatus());
        var status = KubernetesJson.Deserialize<CrnpClientStatus>(before);
        var generation = meta.Generation;
        var now = time.GetUtcNow().UtcDateTime;
        var events = new List<Note>();

        if (!ClientSpecs.TryTypes(obj.Spec, out var types, out var invalid))
        {
            Forget(key);
            if (!Conditions.IsTrue(status.Conditions, Conditions.Registered) && Conditions.Find(status.Conditions, Conditions.Registered)?.Reason == "InvalidSpec"
                && status.ObservedGeneration == generation)
            {
                return null;
            }
            await RemoveAsync(status.RegisteredAddress, leading);
            status.RegisteredAddress = null;
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, "InvalidSpec", invalid, generation, now);
            status.ObservedGeneration = generation;
            events.Add(new Note(true, "InvalidSpec", invalid));
            await WriteStatusAsync(obj, status, before, events, leading);
            return null;
        }

        var ip = await ClientSpecs.ResolveAsync(obj.Spec.Address, leading);
        if (ip is null)
        {
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, "AddressUnresolved",
                $"'{obj.Spec.Address}' does not resolve to an IP address; trying again in {RetryLater.TotalSeconds:0} s", generation, now);
            status.ObservedGeneration = generation;
            await WriteStatusAsync(obj, status, before, events, leading);
            return RetryLater;
        }

        var desired = new CallbackAddress(ip, obj.Spec.Port);
        if (status.RegisteredAddress is { } old && old != desired.ToString())
        {
            await RemoveAsync(old, leading); // the address moved (spec change, or the name resolves elsewhere now)
            status.RegisteredAddress = null;
        }

        var existing = await registrations.GetClientAsync(desired, leading);
        var reRegister = obj.Spec.ReRegister == ClientSpecs.Always;
        var wasRegistered = status.RegisteredAddress == desired.ToString() && Conditions.IsTrue(status.Conditions, Conditions.Registered);
        var removal = Unreported(obj, status, desired);
        if (removal is null && existing is null && wasRegistered)
        {
            await removals.CatchUpAsync(leading); // gone before the feed's next poll?
            removal = Unreported(obj, status, desired);
        }
        if (removal is not null)
        {
            var text = $"{desired} was removed at {removal.At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} after failed deliveries: {removal.Reason}";
            telemetry.Removed();
            Log.Removed(logger, key, desired.ToString(), removal.Reason);
            status.LastRemoval = new RemovalStatus { Time = removal.At.UtcDateTime, Reason = removal.Reason };
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Removed, true, RemovedAfterRetries, text, generation, now);
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, RemovedAfterRetries, text, generation, now);
            events.Add(new Note(true, "ClientRemoved", text));
            if (!reRegister)
            {
                Forget(key);
                status.RegisteredAddress = null;
                status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, RemovedAfterRetries,
                    text + "; reRegister is Never: it is declared again when the client registers again itself or the spec changes", generation, now);
                status.ObservedGeneration = generation;
                await WriteStatusAsync(obj, status, before, events, leading);
                return null;
            }
        }
        else if (existing is null && wasRegistered)
        {
            events.Add(new Note(true, "RegistrationLost",
                $"{desired} is no longer in the server and the delivery pool did not remove it (lost with the store, or removed around the operator); registering it again"));
        }
        else if (existing is null && Conditions.IsTrue(status.Conditions, Conditions.Removed) && status.ObservedGeneration == generation && !reRegister)
        {
            Forget(key);
            Log.Reconciled(logger, key, "unchanged (removed)");
            return null; // stays removed until the client registers again itself or the spec changes
        }

        var result = await EnsureRegisteredAsync(desired, existing, types, leading);
        if (result.Status != StatusCode.Ok)
        {
            Forget(key);
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, Reason(result.Status), result.Message, generation, now);
            status.ObservedGeneration = generation;
            await WriteStatusAsync(obj, status, before, events, leading);
            return RetryLater;
        }

        status.RegisteredAddress = desired.ToString();
        status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, true, "Registered",
            $"registered as {desired} with {types.Count} event type(s)", generation, now);
        if (removal is not null)
        {
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Removed, false, "ReRegistered",
                $"{Conditions.Find(status.Conditions, Conditions.Removed)!.Message}; registered again (reRegister: Always)", generation, now);
            events.Add(new Note(false, "ReRegistered", $"{desired} registered again after its removal"));
        }
        else if (Conditions.IsTrue(status.Conditions, Conditions.Removed))
        {
            var (why, message) = existing?.Origin == RegistrationOrigin.Dynamic
                ? ("ClientReRegistered", "the client registered again itself; declared again")
                : ("SpecChanged", "registered again after the spec changed");
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Removed, false, why, message, generation, now);
        }

        if (await clientStatus.GetDeliveryStatusAsync(desired, leading) is { } d)
        {
            health.Observe(key, d);
            var tick = Interlocked.Read(ref _tick);
            if (!_figuresTick.TryGetValue(key, out var written) || written != tick)
            {
                _figuresTick[key] = tick;
                status.Backlog = d.Backlog;
                status.LastDeliveryTime = d.LastDelivery?.UtcDateTime;
                status.LastDeliveredSequence = d.LastDeliveredSequence;
                status.ConsecutiveFailures = d.ConsecutiveFailures;
                status.LastFailure = d.LastFailure;
                status.Conditions = d.ConsecutiveFailures == 0
                    ? Conditions.Set(status.Conditions, Conditions.Delivering, true, "Delivering", "no failed delivery since the last success", generation, now)
                    : Conditions.Set(status.Conditions, Conditions.Delivering, false, "DeliveryFailing",
                        $"{d.ConsecutiveFailures} failed attempt(s) in a row; last: {d.LastFailure}", generation, now);
            }
        }
        status.ObservedGeneration = generation;
        await WriteStatusAsync(obj, status, before, events, leading);
        return null;
    }

    /// <summary>
    /// The latest removal of the client this resource registered, unless its status already reports it
    /// (or it is older than the resource: a removal of an earlier registration of that address).
    /// </summary>
    private RemovalRecord? Unreported(CrnpClient obj, CrnpClientStatus status, CallbackAddress desired)
    {
        if (status.RegisteredAddress != desired.ToString() || removals.Latest(desired) is not { } removal)
        {
            return null;
        }
        var since = status.LastRemoval?.Time ?? obj.Metadata.CreationTimestamp;
        return since is { } t && Milliseconds(removal.At) <= Milliseconds(new DateTimeOffset(Utc(t))) ? null : removal;
    }

    // Compared in whole milliseconds: the store's precision (Redis TIME), and no more than a status
    // time keeps through its JSON (microseconds), so a reported removal always compares equal.
    private static long Milliseconds(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static DateTime Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Local => t.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(t, DateTimeKind.Utc),
        _ => t,
    };

    private void Forget(string key)
    {
        health.Forget(key);
        _figuresTick.TryRemove(key, out _);
    }

    private async Task<RegistrationResult> EnsureRegisteredAsync(
        CallbackAddress client, ClientRegistration? existing, EquatableList<EventRegistration> types, CancellationToken leading)
    {
        var limits = RegistrationLimits.Default with { MaxClients = int.MaxValue };
        if (existing is null || existing.Origin != RegistrationOrigin.Declared)
        {
            leading.ThrowIfCancellationRequested();
            var added = await registrations.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client, types, limits, RegistrationOrigin.Declared), CancellationToken.None);
            if (added.Status == StatusCode.Ok)
            {
                telemetry.Registered();
            }
            return added;
        }

        // Already declared: change only what differs, so the queue and delivery state are kept.
        var add = types.Where(t => !existing.Types.Contains(t)).ToList();
        var drop = existing.Types.Where(t => !types.Contains(t)).ToList();
        if (add.Count > 0)
        {
            leading.ThrowIfCancellationRequested();
            var r = await registrations.ApplyAsync(new RegistrationChange(RegistrationType.AddEvents, client, new EquatableList<EventRegistration>(add), limits, RegistrationOrigin.Declared), CancellationToken.None);
            if (r.Status != StatusCode.Ok)
            {
                return r;
            }
        }
        if (drop.Count > 0)
        {
            leading.ThrowIfCancellationRequested();
            return await registrations.ApplyAsync(new RegistrationChange(RegistrationType.RemoveEvents, client, new EquatableList<EventRegistration>(drop), limits, RegistrationOrigin.Declared), CancellationToken.None);
        }
        return RegistrationResult.Ok("unchanged");
    }

    private async Task RemoveAsync(string? address, CancellationToken leading)
    {
        if (address is null || !CallbackAddress.TryParse(address, out var client))
        {
            return;
        }
        var existing = await registrations.GetClientAsync(client.Value, leading);
        if (existing?.Origin != RegistrationOrigin.Declared)
        {
            return; // gone already, or since taken over by a TCP registration of that client
        }
        leading.ThrowIfCancellationRequested();
        await registrations.ApplyAsync(new RegistrationChange(RegistrationType.RemoveClient, client.Value, EquatableList<EventRegistration>.Empty, RegistrationLimits.Default, RegistrationOrigin.Declared), CancellationToken.None);
    }

    private async Task ReplaceAsync(CrnpClient obj, CancellationToken leading)
    {
        leading.ThrowIfCancellationRequested();
        await kube.CustomObjects.ReplaceNamespacedCustomObjectAsync<CrnpClient>(
            obj, CrnpApi.Group, CrnpApi.Version, obj.Metadata.NamespaceProperty, CrnpApi.ClientPlural, obj.Metadata.Name, cancellationToken: leading);
    }

    /// <summary>
    /// Writes the status if it changed, then the Events: an Event follows the status that records its
    /// cause, so a failed write (a conflict) retries both and a written one is never repeated.
    /// </summary>
    private async Task WriteStatusAsync(CrnpClient obj, CrnpClientStatus status, string before, List<Note> events, CancellationToken leading)
    {
        var changed = KubernetesJson.Serialize(status) != before;
        if (changed)
        {
            obj.Status = status;
            leading.ThrowIfCancellationRequested();
            await kube.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<CrnpClient>(
                obj, CrnpApi.Group, CrnpApi.Version, obj.Metadata.NamespaceProperty, CrnpApi.ClientPlural, obj.Metadata.Name, cancellationToken: leading);
        }
        Log.Reconciled(logger, $"{obj.Metadata.NamespaceProperty}/{obj.Metadata.Name}", changed ? "written" : "unchanged");
        foreach (var note in events)
        {
            if (note.Warning)
            {
                await recorder.WarningAsync(obj, note.Reason, note.Message, leading);
            }
            else
            {
                await recorder.NormalAsync(obj, note.Reason, note.Message, leading);
            }
        }
    }

    private sealed record Note(bool Warning, string Reason, string Message);

    private static string Reason(StatusCode status) => status switch
    {
        StatusCode.LowResource => "LowResource",
        StatusCode.Retry => "StoreUnavailable",
        _ => "Refused",
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "CrnpClient {Key}: registration {Address} removed with the resource")]
        public static partial void Unregistered(ILogger logger, string key, string address);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "CrnpClient {Key}: {Address} was removed from the server: {Reason}")]
        public static partial void Removed(ILogger logger, string key, string address, string reason);

        [LoggerMessage(EventId = 1203, Level = LogLevel.Debug, Message = "CrnpClient {Key}: reconciled, status {Status}")]
        public static partial void Reconciled(ILogger logger, string key, string status);
    }
}
