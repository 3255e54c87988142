using System.Runtime.InteropServices;

namespace MLNetLora.LibTorch.Interop;

/// <summary>
/// Owns one libtorch tensor reference (<c>AtenTensorHandle</c>). Releasing it calls
/// <c>aoti_torch_delete_tensor_object</c>; the storage is freed when the last reference goes.
/// </summary>
internal sealed unsafe class TensorHandle : SafeHandle
{
    public TensorHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => AotiShim.delete_tensor_object(handle) == 0;
}
