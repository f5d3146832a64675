using System.Reflection;
using CrnpCloud.Core;
using CrnpCloud.Testing;
using Microsoft.Extensions.DependencyInjection;
using static CrnpCloud.Delivery.Tests.Scenario;

namespace CrnpCloud.Delivery.Tests;

/// <summary>What a delivery costs in store round trips: the ack says whether the queue is empty, so a client's last entry is not followed by a read that finds nothing.</summary>
public sealed class RoundTripTests
{
    [Fact]
    public async Task OneEventToManyClients_IsOneQueueReadPerClient_NotTwo()
    {
        const int Clients = 20;
        var store = new InMemoryStore();
        var listeners = Enumerable.Range(0, Clients).Select(_ => CrnpTestListener.Start()).ToList();
        try
        {
            foreach (var listener in listeners)
            {
                await RegisterAsync(store, listener.Address);
            }
            var counting = DispatchProxy.Create<IDeliveryStore, CountingReads>();
            ((CountingReads)counting).Inner = store;
            await using var worker = await WorkerHost.StartAsync(store, b =>
            {
                b.Services.AddSingleton(counting); // the last registration wins
                b.AddCrnpDelivery();
            }, Settings());

            await store.PublishAsync(Numbered(0));
            foreach (var listener in listeners)
            {
                await listener.WaitForAsync(1);
            }
            await Eventually.TrueAsync(async () => (await Task.WhenAll(listeners.Select(l => store.PeekQueueAsync(l.Address, 1)))).All(q => q.Count == 0), "every delivery acked");

            // A wake-up and the worker's first scan may both signal a client: a second read is allowed
            // for a few, never for most (with a read after every last ack it would be 2 x 20).
            Assert.InRange(Volatile.Read(ref ((CountingReads)counting).Reads), Clients, Clients + Clients / 4);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                await listener.DisposeAsync();
            }
        }
    }

    /// <summary>Forwards to the store and counts queue reads.</summary>
    public class CountingReads : DispatchProxy
    {
        public int Reads;

        public IDeliveryStore Inner { get; set; } = null!;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (targetMethod.Name == nameof(IDeliveryStore.PeekQueueAsync))
            {
                Interlocked.Increment(ref Reads);
            }
            return targetMethod.Invoke(Inner, args);
        }
    }
}
