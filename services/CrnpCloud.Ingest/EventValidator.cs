using CrnpCloud.Protocol;
using Grpc.Core;

namespace CrnpCloud.Ingest;

/// <summary>
/// Turns a publish request into a CRNP event, or refuses it with INVALID_ARGUMENT naming the field
/// (RESOURCE_EXHAUSTED when it is merely too big). Everything a CRNP client will be sent must be
/// representable in an SC_EVENT document, so XML-invalid characters are refused here.
/// </summary>
internal static class EventValidator
{
    public static CrnpEvent ToEvent(V1.PublishRequest request, IngestOptions options)
    {
        var evt = request.Event ?? throw Invalid("event", "is required");
        var limits = options.Limits;
        var @class = Text(evt.Class, "event.class", limits, required: true);
        var subclass = Text(evt.Subclass, "event.subclass", limits, required: true);
        var vendor = evt.Vendor.Length == 0 ? options.DefaultVendor : Text(evt.Vendor, "event.vendor", limits, required: true);
        var publisher = evt.Publisher.Length == 0 ? options.DefaultPublisher : Text(evt.Publisher, "event.publisher", limits, required: true);
        if (evt.Nvpairs.Count > limits.MaxNameValues)
        {
            throw Exhausted($"event.nvpairs: more than {limits.MaxNameValues} pairs");
        }

        var pairs = new NameValue[evt.Nvpairs.Count];
        for (var i = 0; i < pairs.Length; i++)
        {
            var pair = evt.Nvpairs[i];
            var field = $"event.nvpairs[{i}]";
            var name = Text(pair.Name, field + ".name", limits, required: true);
            if (pair.Values.Count == 0)
            {
                throw Invalid(field + ".values", "needs at least one value");
            }
            if (pair.Values.Count > limits.MaxValuesPerName)
            {
                throw Exhausted($"{field}.values: more than {limits.MaxValuesPerName} values");
            }
            var values = new string[pair.Values.Count];
            for (var v = 0; v < values.Length; v++)
            {
                values[v] = Text(pair.Values[v], $"{field}.values[{v}]", limits, required: false);
            }
            pairs[i] = new NameValue(name, values);
        }

        var crnp = new CrnpEvent(@class, subclass, vendor, publisher, pairs);
        var size = CrnpWriter.ToBytes(crnp).Length;
        if (size > options.MaxEventBytes)
        {
            throw Exhausted($"event: {size} bytes as an SC_EVENT document, more than the limit of {options.MaxEventBytes}");
        }

        if (request.IdempotencyKey.Length > options.MaxIdempotencyKeyLength)
        {
            throw Invalid("idempotency_key", $"longer than {options.MaxIdempotencyKeyLength} characters");
        }
        return crnp;
    }

    private static string Text(string value, string field, CrnpLimits limits, bool required)
    {
        if (required && string.IsNullOrWhiteSpace(value))
        {
            throw Invalid(field, "must not be empty");
        }
        if (value.Length > limits.MaxTextLength)
        {
            throw Exhausted($"{field}: longer than {limits.MaxTextLength} characters");
        }
        if (!CrnpText.IsValid(value))
        {
            throw Invalid(field, "contains characters an XML document cannot carry");
        }
        return value;
    }

    private static RpcException Invalid(string field, string problem) =>
        new(new Status(Grpc.Core.StatusCode.InvalidArgument, $"{field}: {problem}"));

    private static RpcException Exhausted(string message) =>
        new(new Status(Grpc.Core.StatusCode.ResourceExhausted, message));
}
