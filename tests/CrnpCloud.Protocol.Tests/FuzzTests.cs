using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Xunit.Abstractions;

namespace CrnpCloud.Protocol.Tests;

/// <summary>
/// A generative fuzz run of the protocol reader, bounded in time: valid documents from the writer,
/// mutated (byte flips, XML tokens spliced in, truncation, duplication, nesting), fed whole to the
/// parser and in random pieces through the streaming reader. Properties: nothing throws, nothing
/// takes longer than a bound, a document parses the same whole or in pieces, and unmutated documents
/// round-trip. Seeded per run (printed); CRNP_FUZZ_SEED repeats one, CRNP_FUZZ_SECONDS runs longer
/// (default 10 s). A failing input is saved and its path is in the failure message.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private static readonly string[] Tokens =
    [
        "<", ">", "</", "/>", "<!DOCTYPE x [<!ENTITY e \"a\">]>", "<!ENTITY", "&amp;", "&#x0;", "&#xD800;", "&e;", "]]>", "<![CDATA[", "\"", "'", "=",
        "VERSION=\"9.9\"", "VERSION=\"0.1\"", "REG_TYPE=\"BOGUS\"", "PORT=\"-1\"", "PORT=\"99999999999\"", "<?xml version=\"1.0\"?>", "<NVPAIR>", "<NAME>",
        "<VALUE>", "</NVPAIR>", "<SC_EVENT_REG CLASS=\"x\">", "\u00e9", "\uFFFF", "\0", "\r\n", new string('x', 5000),
    ];

    [Fact]
    public async Task ProtocolReader_Fuzz_NoExceptionNoHang_SameResultWholeOrInPieces()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CRNP_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : Environment.TickCount;
        var seconds = double.TryParse(Environment.GetEnvironmentVariable("CRNP_FUZZ_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : 10;
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var inputs = 0;
        var outcomes = new Dictionary<string, int>();
        while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var (original, message) = Generate(random);
            var mutated = random.Next(4) == 0 ? original : Mutate(random, original);
            inputs++;
            try
            {
                var started = Stopwatch.GetTimestamp();
                var whole = CrnpParser.Parse(new ReadOnlySequence<byte>(mutated));
                var pieces = await ReadInPiecesAsync(mutated, random);
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (elapsed > TimeSpan.FromSeconds(2))
                {
                    Fail(seed, inputs, mutated, $"took {elapsed.TotalMilliseconds:F0} ms");
                }
                if (ReferenceEquals(mutated, original))
                {
                    if (!whole.IsSuccess || !Equals(whole.Value, message))
                    {
                        Fail(seed, inputs, mutated, $"a written document did not round-trip: {whole}");
                    }
                }
                var key = whole.IsSuccess ? "OK" : whole.Error.Status.ToWire();
                outcomes[key] = outcomes.GetValueOrDefault(key) + 1;

                // The streaming reader frames by itself (it answers at the root's close, so bytes after it
                // are not its business): a registration the whole parse accepts, it must accept the same.
                if (whole.IsSuccess && whole.Value is CallbackRegistration && !pieces.IsSuccess)
                {
                    Fail(seed, inputs, mutated, $"whole: {whole}; in pieces: {pieces}");
                }
                if (pieces.IsSuccess && whole.IsSuccess && !Equals(pieces.Value, whole.Value))
                {
                    Fail(seed, inputs, mutated, $"whole: {whole}; in pieces: {pieces}");
                }
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Fail(seed, inputs, mutated, ex.ToString());
            }
        }
        output.WriteLine($"seed {seed}: {inputs} inputs in {clock.Elapsed.TotalSeconds:F1} s; " + string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}")));
        Assert.True(inputs > 1000, $"only {inputs} inputs in {seconds} s");
        Assert.True(outcomes.Count >= 3, "the mutations reached too few outcomes: " + string.Join(", ", outcomes.Keys));
    }

    private static async Task<ParseResult<CallbackRegistration>> ReadInPiecesAsync(byte[] bytes, Random random)
    {
        var pipe = new Pipe();
        var writing = Task.Run(async () =>
        {
            var at = 0;
            while (at < bytes.Length)
            {
                var n = Math.Min(bytes.Length - at, 1 + random.Next(Math.Max(1, bytes.Length / 3)));
                await pipe.Writer.WriteAsync(bytes.AsMemory(at, n));
                at += n;
            }
            await pipe.Writer.CompleteAsync();
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var outcome = await new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, timeout.Token);
        await pipe.Reader.CompleteAsync();
        await writing;
        return outcome.Result;
    }

    private static string Text(Random random)
    {
        var length = random.Next(0, 24);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = random.Next(10) switch
            {
                0 => (char)random.Next(0x80, 0x800),
                1 => "<>&\"']"[random.Next(6)],
                _ => (char)random.Next('a', 'z' + 1),
            };
        }
        return new string(chars);
    }

    private static (byte[] Bytes, CrnpMessage Message) Generate(Random random)
    {
        EquatableList<NameValue> Pairs() => new(Enumerable.Range(0, random.Next(0, 4))
            .Select(_ => new NameValue("n" + Text(random), new EquatableList<string>(Enumerable.Range(0, random.Next(1, 4)).Select(_ => Text(random))))));
        CrnpMessage message = random.Next(3) switch
        {
            0 => new CallbackRegistration(
                (RegistrationType)random.Next(4), random.Next(1, 65536),
                new EquatableList<EventRegistration>(Enumerable.Range(0, random.Next(0, 5))
                    .Select(_ => new EventRegistration("EC_" + Text(random), random.Next(2) == 0 ? null : "ESC_" + Text(random), Pairs())))),
            1 => new CrnpEvent("EC_" + Text(random), "ESC_" + Text(random), "SUNW", "rgm", Pairs()),
            _ => new CrnpReply((StatusCode)random.Next(9), Text(random)),
        };
        try
        {
            return (CrnpWriter.ToBytes(message), message);
        }
        catch (ArgumentException)
        {
            // Text the writer refuses (e.g. a registration with no types where one is required): try again.
            return Generate(random);
        }
    }

    private static byte[] Mutate(Random random, byte[] input)
    {
        var bytes = new List<byte>(input);
        var rounds = random.Next(1, 4);
        for (var r = 0; r < rounds && bytes.Count > 0; r++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(6))
            {
                case 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Tokens[random.Next(Tokens.Length)]));
                    break;
                case 2:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 3:
                    var length = Math.Min(bytes.Count - at, random.Next(1, 64));
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                case 4:
                    bytes.InsertRange(at, Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("<a>", random.Next(1, 40)))));
                    break;
                default:
                    bytes[at] = (byte)random.Next(256);
                    break;
            }
        }
        return [.. bytes];
    }

    private static void Fail(int seed, int input, byte[] bytes, string why)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "fuzz-failures");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"seed{seed}-input{input}.bin");
        File.WriteAllBytes(path, bytes);
        Assert.Fail($"fuzz input {input} (seed {seed}, CRNP_FUZZ_SEED={seed} repeats the run) saved to {path}: {why}");
    }
}
