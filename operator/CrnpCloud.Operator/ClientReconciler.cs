using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator;

/// <summary>
/// One CrnpClient -> one declared registration in the store, and the store's view of its deliveries
/// -> the resource's status. Declared registrations cannot be changed or removed over TCP (the store
/// refuses with FAIL); they go when the resource does (finalizer). A removal by the delivery pool
/// becomes the Removed condition and a Warning Event, and with <c>reRegister: Always</c> the client
/// is registered again at once.
/// </summary>
internal sealed partial class ClientReconciler(
    IKubernetes kube,
    ICrnpStore store,
    IDeliveryStore delivery,
    EventRecorder recorder,
    OperatorTelemetry telemetry,
    TimeProvider time,
    ILogger<ClientReconciler> logger)
{
    public static readonly TimeSpan RetryLater = TimeSpan.FromSeconds(30);

    /// <summary>Reconciles one object; returns when to look again, if sooner than the periodic refresh.</summary>
    public async Task<TimeSpan?> ReconcileAsync(CrnpClient? obj, CancellationToken leading)
    {
        if (obj is null)
        {
            return null; // gone from the cache: its finalizer already ran
        }
        var meta = obj.Metadata;
        var finalizers = meta.Finalizers ?? [];
        if (meta.DeletionTimestamp is not null)
        {
            if (finalizers.Contains(CrnpApi.Finalizer))
            {
                await RemoveAsync(obj.Status?.RegisteredAddress, leading);
                meta.Finalizers = [.. finalizers.Where(f => f != CrnpApi.Finalizer)];
                await ReplaceAsync(obj, leading);
                Log.Unregistered(logger, Key(obj), obj.Status?.RegisteredAddress ?? "(none)");
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

        if (!ClientSpecs.TryTypes(obj.Spec, out var types, out var invalid))
        {
            if (!Conditions.IsTrue(status.Conditions, Conditions.Registered) && Conditions.Find(status.Conditions, Conditions.Registered)?.Reason == "InvalidSpec"
                && status.ObservedGeneration == generation)
            {
                return null;
            }
            await RemoveAsync(status.RegisteredAddress, leading);
            status.RegisteredAddress = null;
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, "InvalidSpec", invalid, generation, now);
            status.ObservedGeneration = generation;
            await recorder.WarningAsync(obj, "InvalidSpec", invalid, leading);
            await WriteStatusAsync(obj, status, before, leading);
            return null;
        }

        var ip = await ClientSpecs.ResolveAsync(obj.Spec.Address, leading);
        if (ip is null)
        {
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, "AddressUnresolved",
                $"'{obj.Spec.Address}' does not resolve to an IP address; trying again in {RetryLater.TotalSeconds:0} s", generation, now);
            status.ObservedGeneration = generation;
            await WriteStatusAsync(obj, status, before, leading);
            return RetryLater;
        }

        var desired = new CallbackAddress(ip, obj.Spec.Port);
        if (status.RegisteredAddress is { } old && old != desired.ToString())
        {
            await RemoveAsync(old, leading); // the address moved (spec change, or the name resolves elsewhere now)
            status.RegisteredAddress = null;
        }

        var existing = await store.GetClientAsync(desired, leading);
        var wasRegistered = status.RegisteredAddress == desired.ToString() && Conditions.IsTrue(status.Conditions, Conditions.Registered);
        var reRegister = obj.Spec.ReRegister == ClientSpecs.Always;
        string? reason = null;
        if (existing is null && wasRegistered)
        {
            var removal = (await delivery.ListRemovalsAsync(500, leading)).LastOrDefault(r => r.Client == desired);
            reason = removal?.Reason ?? "the registration is no longer in the store";
            telemetry.Removed();
            Log.Removed(logger, Key(obj), desired.ToString(), reason);
            await recorder.WarningAsync(obj, "ClientRemoved", $"{desired} was removed from the server: {reason}", leading);
            if (removal is not null && !reRegister)
            {
                status.RegisteredAddress = null;
                status.Conditions = Conditions.Set(status.Conditions, Conditions.Removed, true, "DeliveryFailed", reason, generation, now);
                status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, "Removed",
                    "removed after failed deliveries; reRegister is Never: change the spec or recreate the resource to register again", generation, now);
                status.ObservedGeneration = generation;
                await WriteStatusAsync(obj, status, before, leading);
                return null;
            }
        }
        else if (existing is null && Conditions.IsTrue(status.Conditions, Conditions.Removed) && status.ObservedGeneration == generation && !reRegister)
        {
            return null; // stays removed until its spec changes
        }

        var result = await EnsureRegisteredAsync(desired, existing, types, leading);
        if (result.Status != StatusCode.Ok)
        {
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, false, Reason(result.Status), result.Message, generation, now);
            status.ObservedGeneration = generation;
            await WriteStatusAsync(obj, status, before, leading);
            return RetryLater;
        }

        status.RegisteredAddress = desired.ToString();
        status.Conditions = Conditions.Set(status.Conditions, Conditions.Registered, true, "Registered",
            $"registered as {desired} with {types.Count} event type(s)", generation, now);
        if (reason is not null)
        {
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Removed, false, "ReRegistered",
                $"registered again after removal ({reason})", generation, now);
            await recorder.NormalAsync(obj, "ReRegistered", $"{desired} registered again after removal", leading);
        }
        else if (Conditions.IsTrue(status.Conditions, Conditions.Removed))
        {
            status.Conditions = Conditions.Set(status.Conditions, Conditions.Removed, false, "SpecChanged", "registered again after the spec changed", generation, now);
        }

        if (await delivery.GetDeliveryStatusAsync(desired, leading) is { } d)
        {
            status.Backlog = d.Backlog;
            status.LastDeliveryTime = d.LastDelivery?.UtcDateTime;
            status.ConsecutiveFailures = d.ConsecutiveFailures;
            status.LastFailure = d.LastFailure;
            status.Conditions = d.ConsecutiveFailures == 0
                ? Conditions.Set(status.Conditions, Conditions.Delivering, true, "Delivering", "no failed delivery since the last success", generation, now)
                : Conditions.Set(status.Conditions, Conditions.Delivering, false, "DeliveryFailing",
                    $"{d.ConsecutiveFailures} failed attempt(s) in a row; last: {d.LastFailure}", generation, now);
        }
        status.ObservedGeneration = generation;
        await WriteStatusAsync(obj, status, before, leading);
        return null;
    }

    private async Task<RegistrationResult> EnsureRegisteredAsync(
        CallbackAddress client, ClientRegistration? existing, EquatableList<EventRegistration> types, CancellationToken leading)
    {
        var limits = RegistrationLimits.Default with { MaxClients = int.MaxValue };
        if (existing is null || existing.Origin != RegistrationOrigin.Declared)
        {
            leading.ThrowIfCancellationRequested();
            var added = await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, client, types, limits, RegistrationOrigin.Declared), CancellationToken.None);
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
            var r = await store.ApplyAsync(new RegistrationChange(RegistrationType.AddEvents, client, new EquatableList<EventRegistration>(add), limits, RegistrationOrigin.Declared), CancellationToken.None);
            if (r.Status != StatusCode.Ok)
            {
                return r;
            }
        }
        if (drop.Count > 0)
        {
            leading.ThrowIfCancellationRequested();
            return await store.ApplyAsync(new RegistrationChange(RegistrationType.RemoveEvents, client, new EquatableList<EventRegistration>(drop), limits, RegistrationOrigin.Declared), CancellationToken.None);
        }
        return RegistrationResult.Ok("unchanged");
    }

    private async Task RemoveAsync(string? address, CancellationToken leading)
    {
        if (address is null || !CallbackAddress.TryParse(address, out var client))
        {
            return;
        }
        var existing = await store.GetClientAsync(client.Value, leading);
        if (existing?.Origin != RegistrationOrigin.Declared)
        {
            return; // gone already, or since taken over by a TCP registration of that client
        }
        leading.ThrowIfCancellationRequested();
        await store.ApplyAsync(new RegistrationChange(RegistrationType.RemoveClient, client.Value, EquatableList<EventRegistration>.Empty, RegistrationLimits.Default, RegistrationOrigin.Declared), CancellationToken.None);
    }

    private async Task ReplaceAsync(CrnpClient obj, CancellationToken leading)
    {
        leading.ThrowIfCancellationRequested();
        await kube.CustomObjects.ReplaceNamespacedCustomObjectAsync<CrnpClient>(
            obj, CrnpApi.Group, CrnpApi.Version, obj.Metadata.NamespaceProperty, CrnpApi.ClientPlural, obj.Metadata.Name, cancellationToken: leading);
    }

    private async Task WriteStatusAsync(CrnpClient obj, CrnpClientStatus status, string before, CancellationToken leading)
    {
        if (KubernetesJson.Serialize(status) == before)
        {
            return;
        }
        obj.Status = status;
        leading.ThrowIfCancellationRequested();
        await kube.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<CrnpClient>(
            obj, CrnpApi.Group, CrnpApi.Version, obj.Metadata.NamespaceProperty, CrnpApi.ClientPlural, obj.Metadata.Name, cancellationToken: leading);
    }

    private static string Reason(StatusCode status) => status switch
    {
        StatusCode.LowResource => "LowResource",
        StatusCode.Retry => "StoreUnavailable",
        _ => "Refused",
    };

    private static string Key(CrnpClient obj) => $"{obj.Metadata.NamespaceProperty}/{obj.Metadata.Name}";

    private static partial class Log
    {
        [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "CrnpClient {Key}: registration {Address} removed with the resource")]
        public static partial void Unregistered(ILogger logger, string key, string address);

        [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "CrnpClient {Key}: {Address} was removed from the server: {Reason}")]
        public static partial void Removed(ILogger logger, string key, string address, string reason);
    }
}
