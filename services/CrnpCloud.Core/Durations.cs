using System.ComponentModel;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CrnpCloud.Core;

/// <summary>
/// The one duration syntax of CrnpCloud's settings: Kubernetes style, one or more decimal numbers each
/// with a unit of <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c> (<c>500ms</c>, <c>30s</c>, <c>1m30s</c>,
/// <c>1.5h</c>). Users write it in Helm values, in CrnpServer and CrnpClient resources and in the
/// services' configuration (appsettings.json, <c>Crnp__*</c> variables, <c>--Crnp:*</c> arguments).
/// Configuration also reads the .NET TimeSpan form earlier releases documented (<c>00:00:30</c>,
/// <c>1.00:00:00</c>), so existing installs keep working; resources take the Kubernetes style only.
/// </summary>
/// <remarks>
/// The configuration binder converts a string to a <see cref="TimeSpan"/> (or <c>TimeSpan?</c>) option
/// with <c>TypeDescriptor.GetConverter(typeof(TimeSpan))</c>; <see cref="AcceptInConfiguration"/>
/// registers <see cref="DurationConverter"/> there, once per process, so every bound option reads both forms.
/// </remarks>
public static partial class Durations
{
    /// <summary>A Kubernetes-style duration: the pattern the CRDs give their duration fields (a test holds them to it).</summary>
    public const string Pattern = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

    /// <summary>The .NET TimeSpan form <c>[d.]hh:mm:ss[.fffffff]</c>, still read from configuration.</summary>
    public const string TimeSpanPattern = "^([0-9]+\\.)?[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,7})?$";

    /// <summary>
    /// A duration setting in either form, <see cref="Pattern"/> or <see cref="TimeSpanPattern"/>: the pattern
    /// of the <c>duration</c> definition in values.schema.json (a test holds it to this).
    /// </summary>
    public const string SettingPattern = "^(([0-9]+(\\.[0-9]+)?(ms|s|m|h))+|([0-9]+\\.)?[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,7})?)$";

    private const int MaxLength = 64;

    private static int _accepted;

    /// <summary>Parses a Kubernetes-style duration (<see cref="Pattern"/>), as resources carry them.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !Whole().IsMatch(text))
        {
            return false;
        }
        var ticks = 0m;
        foreach (Match part in Part().Matches(text))
        {
            if (!decimal.TryParse(part.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }
            var unit = part.Groups[2].Value switch
            {
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                _ => TimeSpan.TicksPerHour,
            };
            // Each part and the sum stay within TimeSpan's range, so the decimal arithmetic cannot overflow.
            if (value > (decimal)TimeSpan.MaxValue.Ticks / unit)
            {
                return false;
            }
            ticks += value * unit;
            if (ticks > TimeSpan.MaxValue.Ticks)
            {
                return false;
            }
        }
        duration = TimeSpan.FromTicks((long)decimal.Truncate(ticks));
        return true;
    }

    /// <summary>
    /// Parses a duration setting: Kubernetes style, or the .NET TimeSpan form (anything
    /// <see cref="TimeSpan.TryParse(string, IFormatProvider, out TimeSpan)"/> reads with the invariant
    /// culture, as configuration binding always did).
    /// </summary>
    public static bool TryParseSetting(string? text, out TimeSpan duration)
    {
        var trimmed = text?.Trim();
        return TryParse(trimmed, out duration)
            || (!string.IsNullOrEmpty(trimmed) && TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out duration));
    }

    /// <summary>Parses a duration setting (<see cref="TryParseSetting"/>); a <see cref="FormatException"/> says what was expected.</summary>
    public static TimeSpan ParseSetting(string? text) =>
        TryParseSetting(text, out var duration) ? duration : throw new FormatException(
            $"'{text}' is not a duration: write a number with a unit of ms, s, m or h, such as 500ms, 30s, 1m30s or 2h (hh:mm:ss is read too)");

    /// <summary>A duration in Kubernetes style, as short as it goes: <c>0s</c>, <c>500ms</c>, <c>1m30s</c>, <c>24h</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }
        var text = new StringBuilder();
        if (duration < TimeSpan.Zero)
        {
            text.Append('-');
            duration = duration.Negate();
        }
        var ticks = duration.Ticks;
        Append(text, ticks / TimeSpan.TicksPerHour, "h");
        Append(text, ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute, "m");
        Append(text, ticks % TimeSpan.TicksPerMinute / TimeSpan.TicksPerSecond, "s");
        var subSecond = ticks % TimeSpan.TicksPerSecond;
        if (subSecond > 0)
        {
            text.Append((subSecond / (decimal)TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture)).Append("ms");
        }
        return text.ToString();
    }

    /// <summary>
    /// Makes configuration binding read both duration forms into <see cref="TimeSpan"/> options, for the
    /// whole process (registers <see cref="DurationConverter"/> as TimeSpan's type converter). Idempotent;
    /// every options registration of the services calls it.
    /// </summary>
    public static void AcceptInConfiguration()
    {
        if (Interlocked.Exchange(ref _accepted, 1) == 0)
        {
            TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(DurationConverter)));
        }
    }

    private static void Append(StringBuilder text, long value, string unit)
    {
        if (value > 0)
        {
            text.Append(value.ToString(CultureInfo.InvariantCulture)).Append(unit);
        }
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex Whole();

    [GeneratedRegex("([0-9]+(?:\\.[0-9]+)?)(ms|s|m|h)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}

/// <summary>
/// TimeSpan's type converter once <see cref="Durations.AcceptInConfiguration"/> ran: reads a string in
/// either duration form (<see cref="Durations.ParseSetting"/>); everything else as <see cref="TimeSpanConverter"/>.
/// </summary>
internal sealed class DurationConverter : TimeSpanConverter
{
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text ? Durations.ParseSetting(text) : base.ConvertFrom(context, culture, value);
}
