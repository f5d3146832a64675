using System.Net;
using CrnpCloud.Core;
using CrnpCloud.Protocol;
using CrnpCloud.Testing;
using Microsoft.Extensions.Options;

namespace CrnpCloud.Redis.Tests;

public sealed class RedisHistoryStoreContractTests(RedisServerFixture redis) : HistoryStoreContractTests, IClassFixture<RedisServerFixture>
{
    protected override Task<ICrnpStore> CreateStoreAsync(int logMaxLength, DeadLetterLimits deadLetters) =>
        Task.FromResult<ICrnpStore>(Create(RedisStores.UniquePrefix(), logMaxLength, deadLetters));

    private RedisStore Create(string prefix, int logMaxLength = 100_000, DeadLetterLimits? deadLetters = null) =>
        new(redis.Connection, Options.Create(new RedisStoreOptions
        {
            KeyPrefix = prefix,
            LogMaxLength = logMaxLength,
            DeadLetterMaxCount = (deadLetters ?? new()).DeadLetterMaxCount,
            DeadLetterMaxAge = (deadLetters ?? new()).DeadLetterMaxAge,
        }));

    [Fact]
    public async Task ReplaysAndDeadLetters_KeepThePayloadReferenceCounts_NothingIsLeftOnceDelivered()
    {
        var prefix = RedisStores.UniquePrefix();
        var store = Create(prefix);
        var client = new CallbackAddress(IPAddress.Parse("10.3.0.1"), 7);
        var register = new RegistrationChange(RegistrationType.AddClient, client, EquatableList.Of(new EventRegistration("EC_Cluster", "ESC_cluster_membership")), RegistrationLimits.Default);
        await store.ApplyAsync(register);
        for (var i = 0; i < 3; i++)
        {
            await store.PublishAsync(new CrnpEvent("EC_Cluster", "ESC_cluster_membership", "SUNW", "rgm", new NameValue("node_list", "n" + i)));
        }
        await store.ReplayAsync(client, 0);
        var lease = (await store.ClaimAsync("w", TimeSpan.FromMinutes(5))).Leases.Single(l => l.Partition == Partitioning.Of(client, store.Partitions));
        await store.RemoveFailedClientAsync(client, "refused", lease);
        await store.ApplyAsync(register);
        Assert.Equal(6, (await store.ReplayDeadLettersAsync(client)).Queued);

        foreach (var entry in await store.PeekQueueAsync(client, 100))
        {
            Assert.Equal(AckResult.Done, (await store.AckAsync(client, entry.EntryId, lease)).Result);
        }

        var db = redis.Connection.GetDatabase();
        var tag = prefix + "{default}";
        Assert.Equal(0, await db.HashLengthAsync(tag + ":refs"));
        Assert.Empty(redis.Connection.GetServers()[0].Keys(pattern: tag + ":ev:*"));
        Assert.False(await db.KeyExistsAsync(tag + ":dl:" + client));
    }
}
