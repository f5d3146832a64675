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
        if (obj.Metadata.DeletionTimestamp is not null)
        {
            await FinalizeAsync(key, obj, leading);
            return null;
        }
        if (!HasFinalizer(obj))
        {
            await AddFinalizerAsync(obj, leading);
            return null; // the update comes back through the watch
        }

        var draft = ReadStatus(key, obj);
        if (!ClientSpecs.TryTypes(obj.Spec, out var types, out var invalid))
        {
            await RefuseInvalidSpecAsync(draft, invalid, leading);
            return null;
        }
        var ip = await ClientSpecs.ResolveAsync(obj.Spec.Address, leading);
        if (ip is null)
        {
            await ReportUnresolvedAsync(draft, leading);
            return RetryLater;
        }
        var desired = new CallbackAddress(ip, obj.Spec.Port);
        await RemoveMovedRegistrationAsync(draft.Status, desired, leading);

        var existing = await registrations.GetClientAsync(desired, leading);
        var removal = await FindRemovalAsync(draft, desired, existing, leading);
        if (await ReportRemovalAsync(draft, desired, existing, removal, leading))
        {
            return null; // stays removed until the client registers again itself or the spec changes
        }

        var result = await EnsureRegisteredAsync(desired, existing, types, leading);
        if (result.Status != StatusCode.Ok)
        {
            await ReportRefusedAsync(draft, result, leading);
            return RetryLater;
        }
        ReportRegistered(draft, desired, types.Count, existing, removal);
        await ObserveDeliveriesAsync(draft, desired, leading);
        await WriteStatusAsync(draft, leading);
        return null;
    }

    private static bool HasFinalizer(CrnpClient obj) => obj.Metadata.Finalizers?.Contains(CrnpApi.Finalizer) == true;

    // Being deleted: the declared registration goes with the resource, then the finalizer.
    private async Task FinalizeAsync(string key, CrnpClient obj, CancellationToken leading)
    {
        Forget(key);
        if (!HasFinalizer(obj))
        {
            return;
        }
        await RemoveAsync(obj.Status?.RegisteredAddress, leading);
        obj.Metadata.Finalizers = [.. obj.Metadata.Finalizers!.Where(f => f != CrnpApi.Finalizer)];
        await ReplaceAsync(obj, leading);
        Log.Unregistered(logger, key, obj.Status?.RegisteredAddress ?? "(none)");
    }

    private async Task AddFinalizerAsync(CrnpClient obj, CancellationToken leading)
    {
        var finalizers = obj.Metadata.Finalizers ?? [];
        obj.Metadata.Finalizers = [.. finalizers, CrnpApi.Finalizer];
        await ReplaceAsync(obj, leading);
    }

    // The status as it is (to tell whether this reconcile changed it) and the copy it edits.
    private Draft ReadStatus(string key, CrnpClient obj)
    {
        var before = KubernetesJson.Serialize(obj.Status ?? new CrnpClientStatus());
        return new Draft(key, obj, before, KubernetesJson.Deserialize<CrnpClientStatus>(before), obj.Metadata.Generation, time.GetUtcNow().UtcDateTime);
    }

    // An invalid spec: no registration (an earlier one is removed), said once per generation.
    private async Task RefuseInvalidSpecAsync(Draft draft, string invalid, CancellationToken leading)
    {
        Forget(draft.Key);
        var status = draft.Status;
        if (!Conditions.IsTrue(status.Conditions, Conditions.Registered) && Conditions.Find(status.Conditions, Conditions.Registered)?.Reason == "InvalidSpec"
            && status.ObservedGeneration == draft.Generation)
        {
            return;
        }
        await RemoveAsync(status.RegisteredAddress, leading);
        status.RegisteredAddress = null;
        draft.SetCondition(Conditions.Registered, false, "InvalidSpec", invalid);
        draft.Events.Add(new Note(true, "InvalidSpec", invalid));
        await WriteStatusAsync(draft, leading);
    }

    private async Task ReportUnresolvedAsync(Draft draft, CancellationToken leading)
    {
        draft.SetCondition(Conditions.Registered, false, "AddressUnresolved",
            $"'{draft.Obj.Spec.Address}' does not resolve to an IP address; trying again in {RetryLater.TotalSeconds:0} s");
        await WriteStatusAsync(draft, leading);
    }

    // The address moved (spec change, or the name resolves elsewhere now): the old registration goes.
    private async Task RemoveMovedRegistrationAsync(CrnpClientStatus status, CallbackAddress desired, CancellationToken leading)
    {
        if (status.RegisteredAddress is { } old && old != desired.ToString())
        {
            await RemoveAsync(old, leading);
            status.RegisteredAddress = null;
        }
    }

    // Whether the status says this address is registered.
    private static bool WasRegistered(Draft draft, CallbackAddress desired) =>
        draft.Status.RegisteredAddress == desired.ToString() && Conditions.IsTrue(draft.Status.Conditions, Conditions.Registered);

    // A removal by the delivery pool not reported yet; when the registration is gone and the feed knows
    // of none, the feed catches up first (gone before its next poll?).
    private async Task<RemovalRecord?> FindRemovalAsync(Draft draft, CallbackAddress desired, ClientRegistration? existing, CancellationToken leading)
    {
        var removal = Unreported(draft.Obj, draft.Status, desired);
        if (removal is null && existing is null && WasRegistered(draft, desired))
        {
            await removals.CatchUpAsync(leading);
            removal = Unreported(draft.Obj, draft.Status, desired);
        }
        return removal;
    }

    /// <summary>
    /// Reports what became of the registration: a removal by the delivery pool goes into the metrics, the
    /// log, the status (lastRemoval, Removed, Registered) and a Warning Event; a registration lost some other
    /// way gets a Warning Event (it is registered again). True when the client stays removed, which ends
    /// this reconcile: reRegister is Never, and it was removed now or earlier (reported at this generation).
    /// </summary>
    private async Task<bool> ReportRemovalAsync(Draft draft, CallbackAddress desired, ClientRegistration? existing, RemovalRecord? removal, CancellationToken leading)
    {
        var reRegister = draft.Obj.Spec.ReRegister == ClientSpecs.Always;
        if (removal is not null)
        {
            var text = $"{desired} was removed at {removal.At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} after failed deliveries: {removal.Reason}";
            telemetry.Removed();
            Log.Removed(logger, draft.Key, desired.ToString(), removal.Reason);
            draft.Status.LastRemoval = new RemovalStatus { Time = removal.At.UtcDateTime, Reason = removal.Reason };
            draft.SetCondition(Conditions.Removed, true, RemovedAfterRetries, text);
            draft.SetCondition(Conditions.Registered, false, RemovedAfterRetries, text);
            draft.Events.Add(new Note(true, "ClientRemoved", text));
            if (reRegister)
            {
                return false;
            }
            Forget(draft.Key);
            draft.Status.RegisteredAddress = null;
            draft.SetCondition(Conditions.Registered, false, RemovedAfterRetries,
                text + "; reRegister is Never: it is declared again when the client registers again itself or the spec changes");
            await WriteStatusAsync(draft, leading);
            return true;
        }
        if (existing is null && WasRegistered(draft, desired))
        {
            draft.Events.Add(new Note(true, "RegistrationLost",
                $"{desired} is no longer in the server and the delivery pool did not remove it (lost with the store, or removed around the operator); registering it again"));
            return false;
        }
        if (existing is null && Conditions.IsTrue(draft.Status.Conditions, Conditions.Removed) && draft.Status.ObservedGeneration == draft.Generation && !reRegister)
        {
            Forget(draft.Key);
            Log.Reconciled(logger, draft.Key, "unchanged (removed)"); // removed earlier, and reported
            return true;
        }
        return false;
    }

    // The store refused the registration (limits, or unavailable): said in the status, tried again later.
    private async Task ReportRefusedAsync(Draft draft, RegistrationResult result, CancellationToken leading)
    {
        Forget(draft.Key);
        draft.SetCondition(Conditions.Registered, false, Reason(result.Status), result.Message);
        await WriteStatusAsync(draft, leading);
    }

    // Registered; after a removal, the Removed condition says how it came back.
    private static void ReportRegistered(Draft draft, CallbackAddress desired, int types, ClientRegistration? existing, RemovalRecord? removal)
    {
        var status = draft.Status;
        status.RegisteredAddress = desired.ToString();
        draft.SetCondition(Conditions.Registered, true, "Registered", $"registered as {desired} with {types} event type(s)");
        if (removal is not null)
        {
            draft.SetCondition(Conditions.Removed, false, "ReRegistered",
                $"{Conditions.Find(status.Conditions, Conditions.Removed)!.Message}; registered again (reRegister: Always)");
            draft.Events.Add(new Note(false, "ReRegistered", $"{desired} registered again after its removal"));
        }
        else if (Conditions.IsTrue(status.Conditions, Conditions.Removed))
        {
            var (why, message) = existing?.Origin == RegistrationOrigin.Dynamic
                ? ("ClientReRegistered", "the client registered again itself; declared again")
                : ("SpecChanged", "registered again after the spec changed");
            draft.SetCondition(Conditions.Removed, false, why, message);
        }
    }

    // The store's view of the client's deliveries: sampled for the metrics every time, written to the
    // status at most once per refresh tick.
    private async Task ObserveDeliveriesAsync(Draft draft, CallbackAddress desired, CancellationToken leading)
    {
        if (await clientStatus.GetDeliveryStatusAsync(desired, leading) is not { } d)
        {
            return;
        }
        health.Observe(draft.Key, d);
        var tick = Interlocked.Read(ref _tick);
        if (_figuresTick.TryGetValue(draft.Key, out var written) && written == tick)
        {
            return;
        }
        _figuresTick[draft.Key] = tick;
        var status = draft.Status;
        status.Backlog = d.Backlog;
        status.LastDeliveryTime = d.LastDelivery?.UtcDateTime;
        status.LastDeliveredSequence = d.LastDeliveredSequence;
        status.ConsecutiveFailures = d.ConsecutiveFailures;
        status.LastFailure = d.LastFailure;
        if (d.ConsecutiveFailures == 0)
        {
            draft.SetCondition(Conditions.Delivering, true, "Delivering", "no failed delivery since the last success");
        }
        else
        {
            draft.SetCondition(Conditions.Delivering, false, "DeliveryFailing", $"{d.ConsecutiveFailures} failed attempt(s) in a row; last: {d.LastFailure}");
        }
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
    /// Writes the status, observed at the resource's generation, if it changed, then the Events: an Event
    /// follows the status that records its cause, so a failed write (a conflict) retries both and a
    /// written one is never repeated.
    /// </summary>
    private async Task WriteStatusAsync(Draft draft, CancellationToken leading)
    {
        var (obj, status) = (draft.Obj, draft.Status);
        status.ObservedGeneration = draft.Generation;
        var changed = KubernetesJson.Serialize(status) != draft.Before;
        if (changed)
        {
            obj.Status = status;
            leading.ThrowIfCancellationRequested();
            await kube.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<CrnpClient>(
                obj, CrnpApi.Group, CrnpApi.Version, obj.Metadata.NamespaceProperty, CrnpApi.ClientPlural, obj.Metadata.Name, cancellationToken: leading);
        }
        Log.Reconciled(logger, $"{obj.Metadata.NamespaceProperty}/{obj.Metadata.Name}", changed ? "written" : "unchanged");
        foreach (var note in draft.Events)
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

    /// <summary>
    /// One reconcile's edit of a CrnpClient's status: the resource, its status as read (<see cref="Before"/>,
    /// to tell whether anything changed), the copy being edited, and the Events to record once it is written.
    /// </summary>
    private sealed class Draft(string key, CrnpClient obj, string before, CrnpClientStatus status, long? generation, DateTime now)
    {
        public string Key { get; } = key;

        public CrnpClient Obj { get; } = obj;

        public string Before { get; } = before;

        public CrnpClientStatus Status { get; } = status;

        public long? Generation { get; } = generation;

        public List<Note> Events { get; } = [];

        public void SetCondition(string type, bool value, string reason, string message) =>
            Status.Conditions = Conditions.Set(Status.Conditions, type, value, reason, message, Generation, now);
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
