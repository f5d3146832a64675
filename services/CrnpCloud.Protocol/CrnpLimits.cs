using System.ComponentModel.DataAnnotations;

namespace CrnpCloud.Protocol;

/// <summary>
/// Bounds on what the reader accepts. Every one is decided while reading; going over any of them
/// is <see cref="StatusCode.Malformed"/>.
/// </summary>
public sealed record CrnpLimits
{
    public static CrnpLimits Default { get; } = new();

    /// <summary>Largest document, in bytes, the reader buffers.</summary>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxDocumentBytes { get; init; } = 64 * 1024;

    /// <summary>Most <c>SC_EVENT_REG</c> elements in one registration.</summary>
    [Range(1, 10_000)]
    public int MaxEventRegistrations { get; init; } = 256;

    /// <summary>Most <c>NVPAIR</c> elements in one event registration or event.</summary>
    [Range(1, 10_000)]
    public int MaxNameValues { get; init; } = 64;

    /// <summary>Most <c>VALUE</c> elements in one <c>NVPAIR</c>.</summary>
    [Range(1, 100_000)]
    public int MaxValuesPerName { get; init; } = 1024;

    /// <summary>Longest name, value, class, subclass, vendor or publisher, in characters.</summary>
    [Range(1, 1024 * 1024)]
    public int MaxTextLength { get; init; } = 4096;

    /// <summary>Deepest element nesting. CRNP documents need 4; anything far deeper is an attack.</summary>
    [Range(4, 256)]
    public int MaxDepth { get; init; } = 16;
}
