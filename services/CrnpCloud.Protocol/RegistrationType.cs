namespace CrnpCloud.Protocol;

/// <summary>The <c>REG_TYPE</c> of an <c>SC_CALLBACK_REG</c> message.</summary>
public enum RegistrationType
{
    AddClient,
    AddEvents,
    RemoveEvents,
    RemoveClient,
}

public static class RegistrationTypes
{
    public static string ToWire(this RegistrationType type) => type switch
    {
        RegistrationType.AddClient => "ADD_CLIENT",
        RegistrationType.AddEvents => "ADD_EVENTS",
        RegistrationType.RemoveEvents => "REMOVE_EVENTS",
        RegistrationType.RemoveClient => "REMOVE_CLIENT",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown registration type"),
    };

    public static bool TryParse(string? text, out RegistrationType type)
    {
        switch (text)
        {
            case "ADD_CLIENT": type = RegistrationType.AddClient; return true;
            case "ADD_EVENTS": type = RegistrationType.AddEvents; return true;
            case "REMOVE_EVENTS": type = RegistrationType.RemoveEvents; return true;
            case "REMOVE_CLIENT": type = RegistrationType.RemoveClient; return true;
            default: type = default; return false;
        }
    }
}
