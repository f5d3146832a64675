using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CrnpCloud.Core;
using CrnpCloud.Protocol;

namespace CrnpCloud.Redis;

/// <summary>
/// The JSON shapes the Lua scripts read (cjson): an event type is <c>{"c":class,"s":subclass?,"nv":[[name,[values]]]}</c>,
/// an event <c>{"c","s","v","p","nv"}</c>, a stored event <c>{"seq","tp","at","e":event}</c>. Written
/// with a fixed member order so equal types have equal strings; the scripts compare types as strings.
/// </summary>
internal static class StoreJson
{
    public static string Type(EventRegistration type) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("c", type.Class);
        if (type.Subclass is not null)
        {
            w.WriteString("s", type.Subclass);
        }
        WriteNameValues(w, type.NameValues);
        w.WriteEndObject();
    });

    public static string Event(CrnpEvent evt) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("c", evt.Class);
        w.WriteString("s", evt.Subclass);
        w.WriteString("v", evt.Vendor);
        w.WriteString("p", evt.Publisher);
        WriteNameValues(w, evt.NameValues);
        w.WriteEndObject();
    });

    public static string Array(IEnumerable<string> items) => Write(w =>
    {
        w.WriteStartArray();
        foreach (var item in items)
        {
            w.WriteStringValue(item);
        }
        w.WriteEndArray();
    });

    public static EventRegistration ReadType(JsonElement e) => new(
        e.GetProperty("c").GetString()!,
        e.TryGetProperty("s", out var s) ? s.GetString() : null,
        ReadNameValues(e.GetProperty("nv")));

    public static CrnpEvent ReadEvent(JsonElement e) => new(
        e.GetProperty("c").GetString()!,
        e.GetProperty("s").GetString()!,
        e.GetProperty("v").GetString()!,
        e.GetProperty("p").GetString()!,
        ReadNameValues(e.GetProperty("nv")));

    /// <summary>Reads a stored event as the scripts build it: <c>{"seq":n,"tp":"..","at":ms,"e":{...}}</c>.</summary>
    public static StoredEvent ReadStored(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var sequence = root.GetProperty("seq").GetInt64();
        var traceParent = root.TryGetProperty("tp", out var tp) && tp.ValueKind == JsonValueKind.String && tp.GetString()!.Length > 0 ? tp.GetString() : null;
        var at = DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("at").GetInt64());
        return new StoredEvent(sequence, sequence.ToString(CultureInfo.InvariantCulture), ReadEvent(root.GetProperty("e")), traceParent, at);
    }

    public static EquatableList<EventRegistration> ReadTypes(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return new EquatableList<EventRegistration>(doc.RootElement.EnumerateArray().Select(t =>
        {
            using var inner = JsonDocument.Parse(t.GetString()!);
            return ReadType(inner.RootElement);
        }).ToList());
    }

    private static EquatableList<NameValue> ReadNameValues(JsonElement array) =>
        array.GetArrayLength() == 0
            ? EquatableList<NameValue>.Empty
            : new EquatableList<NameValue>(array.EnumerateArray().Select(pair =>
                new NameValue(pair[0].GetString()!, new EquatableList<string>(pair[1].EnumerateArray().Select(v => v.GetString()!).ToList()))).ToList());

    private static void WriteNameValues(Utf8JsonWriter w, EquatableList<NameValue> pairs)
    {
        w.WriteStartArray("nv");
        foreach (var pair in pairs)
        {
            w.WriteStartArray();
            w.WriteStringValue(pair.Name);
            w.WriteStartArray();
            foreach (var value in pair.Values)
            {
                w.WriteStringValue(value);
            }
            w.WriteEndArray();
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
