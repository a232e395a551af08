using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using NUnit.Framework;
using StateKit.File;
using StateKit.File.Internal;
using StateKit.Serialization;

namespace StateKit.Tests.Issues;

/// <summary>
/// File-store lists tell a torn, unacknowledged append (dropped) from damage to acknowledged items (an error, never a
/// silent loss): a cut file or a damaged last record raises <see cref="StateCorruptedException"/>, and the next append
/// does not cut the damage off. Lists of the first file format are still read, and rewritten by their next append.
/// </summary>
public sealed class FileListCommittedLengthTests
{
    private string _root = string.Empty;

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("statekit-lists-").FullName;

    [TearDown]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    [Test]
    public async Task FileCutInHalf_ThrowsCorruptedAndTheNextAppendKeepsTheEvidence()
    {
        await using var store = Open();
        var path = await AppendTenAsync(store);
        var length = new FileInfo(path).Length;
        using (var stream = new FileStream(path, FileMode.Open))
        {
            stream.SetLength(length / 2);
        }

        await using var reopened = Open();
        var ex = await Assert.ThrowsAsync<StateCorruptedException>(async () => await reopened.ListRangeAsync("l"));
        Assert.That(ex!.Message, Does.Contain("acknowledged"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await reopened.ListLengthAsync("l"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await reopened.ListAppendAsync("l", [new byte[] { 42 }]));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(length / 2), "nothing was cut off or appended");
    }

    [Test]
    public async Task DamagedLastAcknowledgedRecord_ThrowsCorruptedInsteadOfDroppingIt()
    {
        await using var store = Open();
        var path = await AppendTenAsync(store);
        var bytes = await System.IO.File.ReadAllBytesAsync(path);
        bytes[^6] ^= 0x5A; // inside the last item's payload
        await System.IO.File.WriteAllBytesAsync(path, bytes);

        await using var reopened = Open();
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await reopened.ListRangeAsync("l"));
        await Assert.ThrowsAsync<StateCorruptedException>(async () => await reopened.ListAppendAsync("l", [new byte[] { 42 }]));
        Assert.That(new FileInfo(path).Length, Is.EqualTo(bytes.Length));
    }

    [Test]
    public async Task CompleteRecordsPastTheCommittedLength_WereNeverAcknowledgedAndAreDropped()
    {
        await using var store = Open();
        var path = await AppendTenAsync(store);
        var committed = new FileInfo(path).Length;
        await store.ListAppendAsync("l", [new byte[] { 10 }, new byte[] { 11 }]);
        var bytes = await System.IO.File.ReadAllBytesAsync(path);

        // A crash after the records were written but before the committed length moved over them.
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(ListFile.CommittedOffset), committed);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(ListFile.CommittedOffset + 8), Crc32C.Compute(bytes.AsSpan(ListFile.CommittedOffset, 8)));
        await System.IO.File.WriteAllBytesAsync(path, bytes);

        await using var reopened = Open();
        Assert.That(await reopened.ListLengthAsync("l"), Is.EqualTo(10));
        Assert.That(await reopened.ListAppendAsync("l", [new byte[] { 12 }]), Is.EqualTo(11));
        Assert.That((await reopened.ListRangeAsync("l", -1, -1))[0].Span[0], Is.EqualTo(12));
    }

    [Test]
    public async Task ListOfTheFirstFormat_IsReadAndRewrittenByItsNextAppend()
    {
        await using var store = Open();
        var path = Path.Combine(store.DirectoryPath, "lists", FileNames.ForKey("old"));
        await System.IO.File.WriteAllBytesAsync(path, FirstFormatList("old", ["a", "b", "c"]));

        Assert.That((await store.ListRangeAsync("old")).Select(i => Encoding.UTF8.GetString(i.Span)), Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(await store.ListAppendAsync("old", [Encoding.UTF8.GetBytes("d")]), Is.EqualTo(4));
        Assert.That(Encoding.ASCII.GetString((await System.IO.File.ReadAllBytesAsync(path))[..4]), Is.EqualTo("SKL2"));
        await using var reopened = Open();
        Assert.That((await reopened.ListRangeAsync("old")).Select(i => Encoding.UTF8.GetString(i.Span)), Is.EqualTo(new[] { "a", "b", "c", "d" }));
    }

    private FileStateStore Open() => new(new FileStateStoreOptions { RootPath = _root });

    private static async Task<string> AppendTenAsync(FileStateStore store)
    {
        for (var i = 0; i < 10; i++)
        {
            await store.ListAppendAsync("l", [new[] { (byte)i }]);
        }

        return Path.Combine(store.DirectoryPath, "lists", FileNames.ForKey("l"));
    }

    /// <summary>A list file as StateKit 0.1 wrote it: magic SKL1, header record, expiry record, item records.</summary>
    private static byte[] FirstFormatList(string key, string[] items)
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write("SKL1"u8);
        var header = new byte[8 + Encoding.UTF8.GetByteCount(key)];
        BinaryPrimitives.WriteInt64LittleEndian(header, 12345);
        Encoding.UTF8.GetBytes(key).CopyTo(header, 8);
        Record(buffer, 1, header);
        var expiry = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(expiry, long.MaxValue);
        Record(buffer, 3, expiry);
        foreach (var item in items)
        {
            Record(buffer, 2, Encoding.UTF8.GetBytes(item));
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void Record(ArrayBufferWriter<byte> buffer, byte type, byte[] payload)
    {
        var record = new byte[9 + payload.Length];
        record[0] = type;
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(1), payload.Length);
        payload.CopyTo(record, 5);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(5 + payload.Length), Crc32C.Compute(record.AsSpan(0, 5 + payload.Length)));
        buffer.Write(record);
    }
}
