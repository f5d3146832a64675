using System.Security.Cryptography;
using System.Text;

namespace CrnpCloud.Ingest;

/// <summary>What a bearer token may call; a wider role includes the narrower ones.</summary>
internal enum TokenRole
{
    None = 0,

    /// <summary>crnp.v1.EventIngest only (<see cref="IngestOptions.PublishTokens"/>).</summary>
    Publish = 1,

    /// <summary>Every RPC (<see cref="IngestOptions.AdminTokens"/>, and the older <see cref="IngestOptions.AuthTokens"/>).</summary>
    Admin = 2,
}

/// <summary>
/// The configured bearer tokens with their roles, built once per options change. A token in more
/// than one list has the widest of its roles.
/// </summary>
internal sealed class TokenTable
{
    private readonly (byte[] Digest, TokenRole Role)[] _entries;

    private TokenTable((byte[] Digest, TokenRole Role)[] entries) => _entries = entries;

    /// <summary>Whether calls must present a token at all (any list non-empty).</summary>
    public bool Required => _entries.Length > 0;

    public static TokenTable From(IngestOptions options) => new(
    [
        .. Split(options.PublishTokens).Select(t => (Digest(t), TokenRole.Publish)),
        .. Split(options.AdminTokens).Select(t => (Digest(t), TokenRole.Admin)),
        .. Split(options.AuthTokens).Select(t => (Digest(t), TokenRole.Admin)),
    ]);

    /// <summary>
    /// The widest role of the configured tokens equal to <paramref name="presented"/>, or None. Every
    /// entry is compared, as SHA-256 digests in constant time, so neither a token's content nor its
    /// length shows in the time a refusal takes.
    /// </summary>
    public TokenRole RoleOf(string presented)
    {
        var digest = Digest(presented);
        var role = 0;
        foreach (var (expected, entryRole) in _entries)
        {
            var equal = CryptographicOperations.FixedTimeEquals(digest, expected) ? 1 : 0;
            role = Math.Max(role, equal * (int)entryRole);
        }
        return (TokenRole)role;
    }

    public static string[] Split(string? value) =>
        (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>
    /// A list the role settings accept: empty, or comma-separated tokens of visible ASCII (what an
    /// HTTP/2 header carries) with no empty entry, since <c>a,,b</c> or a trailing comma is most
    /// likely a variable that was not set.
    /// </summary>
    public static bool WellFormed(string? value) =>
        string.IsNullOrWhiteSpace(value)
        || value.Split(',').Select(e => e.Trim()).All(e => e.Length > 0 && e.All(c => c is > ' ' and <= '~'));

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
