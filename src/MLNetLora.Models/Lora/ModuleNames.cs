namespace MLNetLora.Models.Lora;

/// <summary>Names of linear modules as PEFT's <c>target_modules</c> matches them.</summary>
public static class ModuleNames
{
    /// <summary>The last dotted part of a qualified module name: <c>model.layers.0.self_attn.q_proj</c> → <c>q_proj</c>.</summary>
    public static string Leaf(string qualifiedName)
    {
        ArgumentNullException.ThrowIfNull(qualifiedName);
        return qualifiedName[(qualifiedName.LastIndexOf('.') + 1)..];
    }
}
