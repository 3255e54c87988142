namespace MLNetLora.Models.Templating;

/// <summary>A template could not be parsed or rendered; the message says where and why.</summary>
public class TemplateException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TemplateException() { }

    /// <summary>Creates the exception with a message.</summary>
    public TemplateException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public TemplateException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The template itself refused the input (<c>raise_exception</c>), e.g. "roles must alternate".</summary>
public sealed class TemplateRaisedException : TemplateException
{
    /// <summary>Creates the exception.</summary>
    public TemplateRaisedException() { }

    /// <summary>Creates the exception with the template's message.</summary>
    public TemplateRaisedException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public TemplateRaisedException(string message, Exception inner) : base(message, inner) { }
}
