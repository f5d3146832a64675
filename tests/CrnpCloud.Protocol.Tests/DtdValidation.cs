using System.Text;
using System.Text.RegularExpressions;
using System.Xml;

namespace CrnpCloud.Protocol.Tests;

/// <summary>
/// Validates a document against the CRNP DTD of its root (Dtd/*.dtd, embedded in this assembly):
/// the document's own DOCTYPE, if any, is replaced by one naming the local file, and the resolver
/// serves only those files, so nothing is ever fetched.
/// </summary>
internal static partial class DtdValidation
{
    private const string Scheme = "crnp-dtd";

    /// <summary>The validation errors and warnings; empty when the document is valid.</summary>
    public static IReadOnlyList<string> Errors(byte[] document) => Errors(Encoding.UTF8.GetString(document));

    public static IReadOnlyList<string> Errors(string document)
    {
        var withoutDoctype = Doctype().Replace(document, "", 1);
        var root = Root().Match(withoutDoctype);
        if (!root.Success)
        {
            return ["no root element"];
        }
        var name = root.Groups["name"].Value;
        var declarationEnd = withoutDoctype.StartsWith("<?xml", StringComparison.Ordinal) ? withoutDoctype.IndexOf("?>", StringComparison.Ordinal) + 2 : 0;
        var text = withoutDoctype.Insert(declarationEnd, $"<!DOCTYPE {name} SYSTEM \"{Scheme}:{name}.dtd\">");

        var errors = new List<string>();
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Parse,
            ValidationType = ValidationType.DTD,
            XmlResolver = new LocalDtdResolver(),
        };
        settings.ValidationEventHandler += (_, e) => errors.Add($"{e.Severity}: {e.Message}");
        using var reader = XmlReader.Create(new StringReader(text), settings);
        while (reader.Read())
        {
        }
        return errors;
    }

    [GeneratedRegex("<!DOCTYPE[^>\\[]*>")]
    private static partial Regex Doctype();

    [GeneratedRegex("<(?<name>[A-Za-z_][A-Za-z0-9_.:-]*)")]
    private static partial Regex Root();

    /// <summary>Serves Dtd/SC_CALLBACK_REG.dtd, SC_REPLY.dtd and SC_EVENT.dtd; refuses everything else.</summary>
    internal sealed class LocalDtdResolver : XmlResolver
    {
        private static readonly string[] Known = ["SC_CALLBACK_REG.dtd", "SC_REPLY.dtd", "SC_EVENT.dtd"];

        public override Uri ResolveUri(Uri? baseUri, string? relativeUri) =>
            Uri.TryCreate(relativeUri, UriKind.Absolute, out var absolute)
                ? absolute
                : throw new XmlException($"only {Scheme}: URIs are served, not '{relativeUri}'");

        public override object GetEntity(Uri absoluteUri, string? role, Type? ofObjectToReturn)
        {
            var file = absoluteUri.Scheme == Scheme ? absoluteUri.AbsolutePath : null;
            if (file is null || !Known.Contains(file, StringComparer.Ordinal))
            {
                throw new XmlException($"refusing to fetch '{absoluteUri}': only the local CRNP DTDs are served");
            }
            return typeof(DtdValidation).Assembly.GetManifestResourceStream("Dtd." + file)
                ?? throw new XmlException($"Dtd/{file} is not embedded in the test assembly");
        }
    }
}
