using System.Diagnostics.Metrics;
using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Ingest.V1;
using CrnpCloud.Protocol;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StatusCode = Grpc.Core.StatusCode;

namespace CrnpCloud.Ingest.Tests;

/// <summary>Bearer tokens with roles, through a real gRPC client against the running ingest.</summary>
public sealed class TokenRoleTests
{
    private static readonly CallbackAddress Alpha = new(IPAddress.Parse("10.0.0.7"), 7001);

    private static readonly Dictionary<string, string?> Roles = new()
    {
        ["Crnp:Ingest:PublishTokens"] = "pub-1, pub-2",
        ["Crnp:Ingest:AdminTokens"] = "adm-1",
    };

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private static async Task<InMemoryStore> StoreWithAlphaAsync()
    {
        var store = new InMemoryStore();
        await store.ApplyAsync(new RegistrationChange(RegistrationType.AddClient, Alpha, EquatableList.Of(new EventRegistration("EC_Cluster")), RegistrationLimits.Default));
        return store;
    }

    // Every Admin RPC, called with the given headers.
    private static readonly (string Name, Func<Admin.AdminClient, Metadata, Task> Call)[] AdminCalls =
    [
        ("ListClients", async (admin, headers) => await admin.ListClientsAsync(new ListClientsRequest(), headers)),
        ("GetClient", async (admin, headers) => await admin.GetClientAsync(new GetClientRequest { Address = Alpha.ToString() }, headers)),
        ("RemoveClient", async (admin, headers) => await admin.RemoveClientAsync(new RemoveClientRequest { Address = Alpha.ToString() }, headers)),
    ];

    [Fact]
    public async Task PublishToken_Publishes_ButEveryAdminRpcIsPermissionDenied()
    {
        var store = await StoreWithAlphaAsync();
        await using var ingest = await IngestHost.StartAsync(store, Roles);
        using var refusals = new RefusalCounter(ingest.Services);
        var admin = new Admin.AdminClient(ingest.Channel);

        var published = await ingest.Client.PublishAsync(Events.Membership(1), Bearer("pub-2"));
        using (var stream = ingest.Client.PublishStream(Bearer("pub-1")))
        {
            await stream.RequestStream.WriteAsync(Events.Membership(2));
            await stream.RequestStream.CompleteAsync();
            Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        }
        var denied = new List<RpcException>();
        foreach (var (_, call) in AdminCalls)
        {
            denied.Add(await Assert.ThrowsAsync<RpcException>(() => call(admin, Bearer("pub-1"))));
        }

        Assert.True(published.Sequence > 0);
        Assert.Equal(2, (await store.PeekQueueAsync(Alpha, 10)).Count);
        Assert.All(denied, ex => Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode));
        Assert.All(denied, ex => Assert.Contains("needs an admin token (Crnp:Ingest:AdminTokens)", ex.Status.Detail, StringComparison.Ordinal));
        Assert.Contains("crnp.v1.Admin/RemoveClient", denied[2].Status.Detail, StringComparison.Ordinal);
        Assert.NotNull(await store.GetClientAsync(Alpha)); // RemoveClient did nothing
        Assert.Equal(3, refusals.Count("crnp.v1.Admin", "permission_denied"));
        Assert.Equal(3, ingest.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("PERMISSION_DENIED", StringComparison.Ordinal)));
        Assert.DoesNotContain(ingest.Logs.Entries, e => e.Message.Contains("pub-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AdminToken_PublishesAndCallsEveryAdminRpc()
    {
        var store = await StoreWithAlphaAsync();
        await using var ingest = await IngestHost.StartAsync(store, Roles);
        var admin = new Admin.AdminClient(ingest.Channel);

        var published = await ingest.Client.PublishAsync(Events.Membership(1), Bearer("adm-1"));
        foreach (var (_, call) in AdminCalls)
        {
            await call(admin, Bearer("adm-1"));
        }

        Assert.True(published.Sequence > 0);
        Assert.Null(await store.GetClientAsync(Alpha)); // RemoveClient went through
    }

    [Fact]
    public async Task NoOrUnknownToken_IsUnauthenticated_OnEveryCrnpService_WhenOnlyPublishTokensAreSet_HealthAndReflectionStayOpen()
    {
        await using var ingest = await IngestHost.StartAsync(await StoreWithAlphaAsync(), new Dictionary<string, string?> { ["Crnp:Ingest:PublishTokens"] = "pub-1" });
        using var refusals = new RefusalCounter(ingest.Services);
        var admin = new Admin.AdminClient(ingest.Channel);

        var outcomes = new List<RpcException>
        {
            await Assert.ThrowsAsync<RpcException>(async () => await ingest.Client.PublishAsync(Events.Membership(1))),
            await Assert.ThrowsAsync<RpcException>(async () => await ingest.Client.PublishAsync(Events.Membership(1), Bearer("adm-1"))),
            await Assert.ThrowsAsync<RpcException>(async () => await ingest.Client.PublishAsync(Events.Membership(1), new Metadata { { "authorization", "Basic cHViLTE=" } })),
            await Assert.ThrowsAsync<RpcException>(() => AdminCalls[0].Call(admin, [])),
            await Assert.ThrowsAsync<RpcException>(() => AdminCalls[0].Call(admin, Bearer("pub-1x"))),
        };
        var health = await new Health.HealthClient(ingest.Channel).CheckAsync(new HealthCheckRequest());
        using var reflection = new ServerReflection.ServerReflectionClient(ingest.Channel).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await reflection.RequestStream.CompleteAsync();
        var listed = await reflection.ResponseStream.MoveNext(CancellationToken.None);

        Assert.All(outcomes, ex => Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.True(listed);
        Assert.Contains("crnp.v1.Admin", reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
        Assert.Equal(3, refusals.Count("crnp.v1.EventIngest", "unauthenticated"));
        Assert.Equal(2, refusals.Count("crnp.v1.Admin", "unauthenticated"));
    }

    [Fact]
    public async Task LegacyAuthTokens_StillGiveFullAccess()
    {
        var store = await StoreWithAlphaAsync();
        await using var ingest = await IngestHost.StartAsync(store, new Dictionary<string, string?>
        {
            ["Crnp:Ingest:AuthTokens"] = "old-token",
            ["Crnp:Ingest:PublishTokens"] = "pub-1",
        });
        var admin = new Admin.AdminClient(ingest.Channel);

        var published = await ingest.Client.PublishAsync(Events.Membership(1), Bearer("old-token"));
        var listed = await admin.ListClientsAsync(new ListClientsRequest(), Bearer("old-token"));
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await admin.ListClientsAsync(new ListClientsRequest(), Bearer("pub-1")));

        Assert.True(published.Sequence > 0);
        Assert.Single(listed.Clients);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
    }

    [Fact]
    public async Task ATokenInBothLists_HasTheWiderRole()
    {
        await using var ingest = await IngestHost.StartAsync(await StoreWithAlphaAsync(), new Dictionary<string, string?>
        {
            ["Crnp:Ingest:PublishTokens"] = "both",
            ["Crnp:Ingest:AdminTokens"] = "both",
        });

        var listed = await new Admin.AdminClient(ingest.Channel).ListClientsAsync(new ListClientsRequest(), Bearer("both"));

        Assert.Single(listed.Clients);
    }

    [Theory]
    [InlineData("Crnp:Ingest:PublishTokens", "pub-1,,pub-2")]
    [InlineData("Crnp:Ingest:PublishTokens", "pub-1,")]
    [InlineData("Crnp:Ingest:AdminTokens", " , ")]
    [InlineData("Crnp:Ingest:AdminTokens", "two words")]
    [InlineData("Crnp:Ingest:AdminTokens", "caf\u00e9")]
    public async Task MalformedTokenList_StopsTheServiceAtStart_NamingTheSetting_NotTheTokens(string key, string value)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            IngestHost.StartAsync(new InMemoryStore(), new Dictionary<string, string?> { [key] = value }));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pub-1", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Counts <c>crnp.ingest.auth.refused</c> of one ingest (its own meter factory), by service and status.</summary>
    private sealed class RefusalCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Service, string Status)> _seen = [];

        public RefusalCounter(IServiceProvider services)
        {
            var factory = services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "crnp.ingest.auth.refused" && instrument.Meter.Scope == factory)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? service = null, status = null;
                foreach (var tag in tags)
                {
                    service = tag.Key == "service" ? (string?)tag.Value : service;
                    status = tag.Key == "status" ? (string?)tag.Value : status;
                }
                lock (_seen)
                {
                    _seen.AddRange(Enumerable.Repeat((service ?? "", status ?? ""), (int)value));
                }
            });
            _listener.Start();
        }

        public int Count(string service, string status)
        {
            lock (_seen)
            {
                return _seen.Count(s => s == (service, status));
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
