using System.IO.Pipelines;

namespace CrnpCloud.Protocol.Tests;

/// <summary>
/// A DOCTYPE without an internal subset is accepted and never acted on (PROTOCOL.md section 3);
/// an internal subset, any other markup declaration and entities beyond the predefined five are not.
/// </summary>
public sealed class DoctypeTests
{
    public const string WithSystemId =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><!DOCTYPE SC_CALLBACK_REG SYSTEM \"http://attacker.invalid/x.dtd\"><SC_CALLBACK_REG PORT=\"18888\" REG_TYPE=\"ADD_CLIENT\" VERSION=\"1.0\"><SC_EVENT_REG CLASS=\"EC_Cluster\" SUBCLASS=\"ESC_cluster_membership\"/></SC_CALLBACK_REG>";

    public const string WithPublicId =
        "<?xml version=\"1.0\"?>\n<!-- c --><!DOCTYPE SC_CALLBACK_REG PUBLIC \"-//Sun Microsystems//DTD CRNP 1.0//EN\" 'file:///etc/passwd' >\n<SC_CALLBACK_REG PORT=\"18888\" REG_TYPE=\"REMOVE_CLIENT\"/>";

    private const string Root = "<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"/>";

    [Theory]
    [InlineData(WithSystemId)]
    [InlineData(WithPublicId)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG>" + Root)]
    [InlineData("<!DOCTYPE\tSC_CALLBACK_REG\nSYSTEM 'a[b]>c.dtd'>" + Root)]
    public void Doctype_WithoutInternalSubset_IsAccepted_AndNothingIsFetched(string xml)
    {
        var result = Parse.Registration(xml);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(FrameStatus.Complete, new DocumentFramer().Advance(new(Samples.Utf8(xml)), out var length, out _));
        Assert.Equal(Samples.Utf8(xml).Length, length);
    }

    [Fact]
    public async Task Doctype_SentByteByByte_IsAccepted()
    {
        var pipe = new Pipe();
        var reading = new CrnpMessageReader().ReadRegistrationAsync(pipe.Reader, CancellationToken.None).AsTask();

        foreach (var b in Samples.Utf8(WithSystemId))
        {
            await pipe.Writer.WriteAsync(new[] { b });
        }

        var outcome = await reading.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.Result.IsSuccess, outcome.Result.ToString());
    }

    [Theory]
    [InlineData("<!DOCTYPE SC_REPLY SYSTEM \"x.dtd\">" + Root)]
    [InlineData("<!DOCTYPE sc_callback_reg>" + Root)]
    public void Doctype_NamingAnotherRoot_IsInvalid(string xml)
    {
        var result = Parse.Registration(xml);

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
        Assert.Contains("DOCTYPE names", result.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Samples.Xxe)]
    [InlineData(Samples.BillionLaughs)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG []>" + Root)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG SYSTEM \"x.dtd\" [<!ENTITY e \"x\">]>" + Root)]
    public void Doctype_WithInternalSubset_IsInvalid(string xml)
    {
        var result = Parse.Registration(xml);

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
        Assert.Contains("internal subset", result.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG [")]
    [InlineData("<?xml version=\"1.0\"?><!DOCTYPE SC_CALLBACK_REG PUBLIC \"p\" \"s\" [")]
    public void InternalSubset_IsRefusedByTheFramer_BeforeItsContentArrives(string prefix)
    {
        var status = new DocumentFramer().Advance(new(Samples.Utf8(prefix)), out _, out var error);

        Assert.Equal(FrameStatus.Error, status);
        Assert.Equal(StatusCode.Invalid, error.Status);
    }

    [Theory]
    [InlineData("<!ENTITY e \"x\">" + Root)]
    [InlineData("<!ELEMENT SC_CALLBACK_REG ANY>" + Root)]
    [InlineData("<!doctype SC_CALLBACK_REG>" + Root)]
    [InlineData("<!DOCTYPEX SC_CALLBACK_REG>" + Root)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG><!DOCTYPE SC_CALLBACK_REG>" + Root)]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><!DOCTYPE SC_CALLBACK_REG></SC_CALLBACK_REG>")]
    [InlineData("<SC_CALLBACK_REG PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"><!ENTITY e \"x\"></SC_CALLBACK_REG>")]
    public void OtherMarkupDeclarations_AreInvalid_ToTheFramerAndTheParser(string xml)
    {
        var framed = new DocumentFramer().Advance(new(Samples.Utf8(xml)), out _, out var error);

        Assert.Equal(FrameStatus.Error, framed);
        Assert.Equal(StatusCode.Invalid, error.Status);
        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus(xml));
    }

    [Theory]
    [InlineData("<!DOCTYPE>" + Root)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG SYSTEM>" + Root)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG SYSTEM \"x.dtd\" \"y\">" + Root)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG PUBLIC \"a{b}\" \"x.dtd\">" + Root)]
    [InlineData("<!DOCTYPE SC_CALLBACK_REG PUBLIC \"only-one\">" + Root)]
    [InlineData("<!DOCTYPE 1abc>" + Root)]
    public void Doctype_BreakingItsGrammar_IsInvalid(string xml)
    {
        var result = Parse.Registration(xml);

        Assert.Equal(StatusCode.Invalid, result.Error.Status);
        Assert.Contains("DOCTYPE", result.Error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<SC_EVENT_REG CLASS=\"&e;\"/>")]
    [InlineData("<SC_EVENT_REG CLASS=\"c\"><NVPAIR><NAME>n</NAME><VALUE>&passwd;</VALUE></NVPAIR></SC_EVENT_REG>")]
    public void UndeclaredEntity_UnderADoctype_IsInvalid_AndWithoutOneMalformed(string body)
    {
        var bare = Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"", body);

        Assert.Equal(StatusCode.Invalid, Parse.RegistrationStatus("<!DOCTYPE SC_CALLBACK_REG SYSTEM \"x.dtd\">" + bare));
        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus(bare));
    }

    [Fact]
    public void PredefinedAndCharacterReferences_UnderADoctype_AreExpanded()
    {
        var xml = "<!DOCTYPE SC_CALLBACK_REG SYSTEM \"x.dtd\">" + Samples.Registration("PORT=\"1\" REG_TYPE=\"ADD_CLIENT\"",
            "<SC_EVENT_REG CLASS=\"&lt;&amp;&gt;&quot;&apos;&#65;&#x42;\"/>");

        var result = Parse.Registration(xml);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal("<&>\"'AB", result.Value.Events[0].Class);
    }

    [Fact]
    public void Doctype_WellFormednessErrorAfterIt_IsStillMalformed()
    {
        var xml = "<!DOCTYPE SC_CALLBACK_REG SYSTEM \"x.dtd\"><SC_CALLBACK_REG PORT=\"1\" PORT=\"2\" REG_TYPE=\"ADD_CLIENT\"/>";

        Assert.Equal(StatusCode.Malformed, Parse.RegistrationStatus(xml));
    }
}
