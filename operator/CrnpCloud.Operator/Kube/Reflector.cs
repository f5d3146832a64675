using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace CrnpCloud.Operator.Kube;

/// <summary>
/// Keeps a local copy of one kind of object: lists, then watches from the list's resourceVersion,
/// resuming from the last seen resourceVersion (events or bookmarks) when the stream ends or drops,
/// and listing again when the server says that version is gone (410). Calls <see cref="Changed"/>
/// with the key (<c>namespace/name</c> or <c>name</c>) of every object that was added, changed or
/// deleted, including those a re-list found different.
/// </summary>
internal sealed partial class Reflector<T, TList>(
    string name,
    Func<string?, bool, CancellationToken, Task<HttpOperationResponse<TList>>> call,
    ILogger logger,
    TimeProvider time)
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TList : class
{
    private readonly ConcurrentDictionary<string, T> _cache = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public event Action<string>? Changed;

    /// <summary>Completes when the first list is in the cache.</summary>
    public Task Synced => _synced.Task;

    public T? Get(string key) => _cache.TryGetValue(key, out var value) ? value : null;

    public IReadOnlyList<T> Items => [.. _cache.Values];

    public IEnumerable<string> Keys => _cache.Keys;

    public static string KeyOf(T obj) =>
        obj.Metadata.NamespaceProperty is { Length: > 0 } ns ? $"{ns}/{obj.Metadata.Name}" : obj.Metadata.Name;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        string? version = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                version ??= await ListAsync(cancellationToken);
                failures = 0;
                version = await WatchAsync(version, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Gone)
            {
                Gone(logger, name, version ?? "");
                version = null;
            }
            catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or JsonException or KubernetesException)
            {
                failures++;
                var delay = Backoff.Jittered(failures, TimeSpan.FromMilliseconds(200), 8, TimeSpan.FromSeconds(30));
                WatchFailed(logger, name, ex.Message, delay);
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await call(null, false, cancellationToken);
        var list = ToElement(response.Body);
        var version = list.GetProperty("metadata").TryGetProperty("resourceVersion", out var rv) ? rv.GetString() ?? "" : "";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            var obj = KubernetesJson.Deserialize<T>(item.GetRawText());
            var key = KeyOf(obj);
            seen.Add(key);
            Upsert(key, obj);
        }
        foreach (var key in _cache.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            if (_cache.TryRemove(key, out _))
            {
                Changed?.Invoke(key);
            }
        }
        _synced.TrySetResult();
        Listed(logger, name, seen.Count, version);
        return version;
    }

    private async Task<string> WatchAsync(string version, CancellationToken cancellationToken)
    {
        var response = call(version, true, cancellationToken);

        // The library marks this generic watch obsolete in favour of typed per-kind watch methods,
        // which custom resources do not have; it is still the one that reads a custom resource stream.
#pragma warning disable CS0618
        // The library reports an ERROR event (410 Expired among them) through onError and ends the stream.
        Exception? error = null;
        await foreach (var (type, item) in response.WatchAsync<JsonElement, TList>(e => error ??= e, cancellationToken))
        {
            switch (type)
            {
                case WatchEventType.Added:
                case WatchEventType.Modified:
                    {
                        var obj = KubernetesJson.Deserialize<T>(item.GetRawText());
                        version = obj.Metadata.ResourceVersion ?? version;
                        Upsert(KeyOf(obj), obj);
                        break;
                    }
                case WatchEventType.Deleted:
                    {
                        var obj = KubernetesJson.Deserialize<T>(item.GetRawText());
                        version = obj.Metadata.ResourceVersion ?? version;
                        var key = KeyOf(obj);
                        if (_cache.TryRemove(key, out _))
                        {
                            Changed?.Invoke(key);
                        }
                        break;
                    }
                case WatchEventType.Bookmark:
                    version = item.GetProperty("metadata").GetProperty("resourceVersion").GetString() ?? version;
                    break;
                case WatchEventType.Error:
                    {
                        var status = KubernetesJson.Deserialize<V1Status>(item.GetRawText());
                        if (status.Code == (int)HttpStatusCode.Gone)
                        {
                            Gone(logger, name, version);
                            return await ListAsync(cancellationToken);
                        }
                        throw new KubernetesException(status);
                    }
            }
        }
#pragma warning restore CS0618
        if (error is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
        {
            Gone(logger, name, version);
            return await ListAsync(cancellationToken);
        }
        if (error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        return version; // the server ended the stream (timeoutSeconds): watch again from here
    }

    private void Upsert(string key, T obj)
    {
        var changed = true;
        _cache.AddOrUpdate(key, obj, (_, old) =>
        {
            changed = old.Metadata.ResourceVersion != obj.Metadata.ResourceVersion;
            return obj;
        });
        if (changed)
        {
            Changed?.Invoke(key);
        }
    }

    private static JsonElement ToElement(TList body) => body switch
    {
        JsonElement element => element,
        _ => JsonDocument.Parse(KubernetesJson.Serialize(body)).RootElement,
    };

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "{Name}: listed {Count} object(s) at resourceVersion {Version}")]
    private static partial void Listed(ILogger logger, string name, int count, string version);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "{Name}: resourceVersion {Version} is gone (410), listing again")]
    private static partial void Gone(ILogger logger, string name, string version);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "{Name}: watch failed ({Reason}); retrying in {Delay}")]
    private static partial void WatchFailed(ILogger logger, string name, string reason, TimeSpan delay);
}
