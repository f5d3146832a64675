namespace CrnpCloud.Client;

/// <summary>Where reading one CRNP document from a connection ends.</summary>
public enum CrnpRead
{
    /// <summary>
    /// As soon as the document's root element closes (<see cref="Protocol.CrnpMessageReader"/>): a peer that
    /// keeps the connection open afterwards costs nothing.
    /// </summary>
    DocumentEnd,

    /// <summary>
    /// When the peer closes the connection, as a legacy client reads: the whole of what it sent is the
    /// document (bytes after the root element make it malformed), and a peer that never closes is waited
    /// for until the timeout.
    /// </summary>
    PeerClose,
}
