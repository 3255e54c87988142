using System.Runtime.InteropServices;

namespace MLNetLora.LibTorch.Interop;

/// <summary>
/// Owns one libtorch tensor reference (<c>AtenTensorHandle</c>). Releasing it calls
/// <c>aoti_torch_delete_tensor_object</c>; the storage is freed when the last reference goes.
/// </summary>
internal sealed unsafe class TensorHandle : SafeHandle
{
    private static long live;

    public TensorHandle(nint handle) : base(0, ownsHandle: true)
    {
        SetHandle(handle);
        Interlocked.Increment(ref live);
    }

    /// <summary>Handles created and not yet released: a leak detector for tests and diagnostics.</summary>
    public static long Live => Interlocked.Read(ref live);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interlocked.Decrement(ref live);
        return AotiShim.delete_tensor_object(handle) == 0;
    }
}
