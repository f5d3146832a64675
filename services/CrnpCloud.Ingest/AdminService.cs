using CrnpCloud.Core;
using CrnpCloud.Protocol;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using StatusCode = Grpc.Core.StatusCode;

namespace CrnpCloud.Ingest;

/// <summary>The <c>crnp.v1.Admin</c> gRPC service: registrations and their delivery status.</summary>
internal sealed partial class AdminService(
    IRegistrationStore registry,
    IClientStatusStore clientStatus,
    IEventHistoryStore history,
    ILogger<AdminService> logger) : V1.Admin.AdminBase
{
    private const int MaxRemovals = 1000;

    public override Task<V1.ListClientsReply> ListClients(V1.ListClientsRequest request, ServerCallContext context) =>
        Guard(async () =>
        {
            if (request.Removals is < 0 or > MaxRemovals)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"removals: must be between 0 and {MaxRemovals}"));
            }
            var registrations = await registry.ListClientsAsync(context.CancellationToken);
            var statuses = await Task.WhenAll(registrations.Select(r => clientStatus.GetDeliveryStatusAsync(r.Address, context.CancellationToken)));
            var reply = new V1.ListClientsReply();
            reply.Clients.AddRange(registrations.Zip(statuses)
                .OrderBy(p => p.First.Address.ToString(), StringComparer.Ordinal)
                .Select(p => ToClient(p.First, p.Second)));
            if (request.Removals > 0)
            {
                reply.RecentRemovals.AddRange((await clientStatus.ListRemovalsAsync(request.Removals, context.CancellationToken)).Select(r => new V1.Removal
                {
                    Address = r.Client.ToString(),
                    Reason = r.Reason,
                    At = Timestamp.FromDateTimeOffset(r.At),
                }));
            }
            return reply;
        });

    public override Task<V1.Client> GetClient(V1.GetClientRequest request, ServerCallContext context) =>
        Guard(async () =>
        {
            var address = ParseAddress(request.Address);
            var registration = await registry.GetClientAsync(address, context.CancellationToken);
            var status = await clientStatus.GetDeliveryStatusAsync(address, context.CancellationToken);
            return registration is null
                ? throw new RpcException(new Status(StatusCode.NotFound, $"client {address} is not registered"))
                : ToClient(registration, status);
        });

    public override Task<V1.RemoveClientReply> RemoveClient(V1.RemoveClientRequest request, ServerCallContext context) =>
        Guard(async () =>
        {
            var address = ParseAddress(request.Address);
            var result = await registry.ApplyAsync(
                new RegistrationChange(RegistrationType.RemoveClient, address, EquatableList<EventRegistration>.Empty, RegistrationLimits.Default),
                context.CancellationToken);
            if (result.Status != Protocol.StatusCode.Ok)
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"client {address} is not registered"));
            }
            IngestLog.AdminRemoved(logger, address.ToString(), context.Peer);
            return new V1.RemoveClientReply { Message = $"client {address} removed" };
        });

    private static CallbackAddress ParseAddress(string text) =>
        CallbackAddress.TryParse(text, out var address)
            ? address.Value
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"address: '{text}' is not ip:port (use [v6]:port for IPv6)"));

    private static V1.Client ToClient(ClientRegistration registration, DeliveryStatus? status)
    {
        var client = new V1.Client
        {
            Address = registration.Address.ToString(),
            Origin = registration.Origin.ToString(),
            RegisteredAt = Timestamp.FromDateTimeOffset(registration.RegisteredAt),
            Backlog = status?.Backlog ?? 0,
            ConsecutiveFailures = status?.ConsecutiveFailures ?? 0,
            LastFailure = status?.LastFailure ?? "",
        };
        if (status?.LastDelivery is { } delivered)
        {
            client.LastDelivery = Timestamp.FromDateTimeOffset(delivered);
        }
        if (status?.LastFailureAt is { } failed)
        {
            client.LastFailureAt = Timestamp.FromDateTimeOffset(failed);
        }
        foreach (var type in registration.Types)
        {
            var proto = new V1.EventType { Class = type.Class, Subclass = type.Subclass ?? "" };
            foreach (var pair in type.NameValues)
            {
                var nv = new V1.NameValue { Name = pair.Name };
                nv.Values.AddRange(pair.Values);
                proto.Nvpairs.Add(nv);
            }
            client.Types_.Add(proto);
        }
        return client;
    }

    private static async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (StoreUnavailableException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the store is unavailable; retry later"));
        }
    }
}
