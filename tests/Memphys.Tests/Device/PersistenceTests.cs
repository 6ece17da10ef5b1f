using System.Globalization;
using System.Text;
using Memphys.Persistence;

namespace Memphys.Tests.Device;

/// <summary>
/// Data that outlives the kernel: the persist stage (tests/guest/persist-tests.sh) boots the guest several
/// times (kexec -s -l, kexec -l --mem-max, a warm reset) with memphys over four regions loaded as wb, wc, uc and
/// wb with struct pages, and runs these cases in each boot with <c>MEMPHYS_PERSIST_STEPS</c>: <c>verify</c> what
/// the previous boot wrote (every byte), <c>write</c> anew, or <c>survey</c> (count without asserting). What was
/// written is recorded in the output share (MEMPHYS_OUT/persist/), which outlives the guest. Each case appends
/// what it found to MEMPHYS_OUT/persist-results.txt. Outside that stage they skip.
/// </summary>
[Trait(DeviceEnvironment.Category, Trait)]
[Collection(DeviceCollection.Name)]
public sealed class PersistenceTests
{
    /// <summary>Trait value of these cases: <c>-trait Category=DevicePersist</c>.</summary>
    public const string Trait = "DevicePersist";

    /// <summary>The record lives in the last 64 KiB of region 0; the pattern fills the rest.</summary>
    private const int RecordArea = 64 << 10;

    private static readonly string s_out = Environment.GetEnvironmentVariable("MEMPHYS_OUT") ?? "";

    private static readonly string[] s_steps =
        (Environment.GetEnvironmentVariable("MEMPHYS_PERSIST_STEPS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);

    private static string Phase => Environment.GetEnvironmentVariable("MEMPHYS_VM_PHASE") ?? "?";

    private static string StateDir => Path.Combine(s_out, "persist");

    /// <summary>Region index, the method that writes and reads it, and the type it is loaded with.</summary>
    public static TheoryData<int, MappingMethod, CachingMode> Regions => new()
    {
        { 0, MappingMethod.Remap, CachingMode.WriteBack },
        { 1, MappingMethod.Remap, CachingMode.WriteCombining },
        { 2, MappingMethod.Remap, CachingMode.Uncached },
        { 3, MappingMethod.Pages, CachingMode.WriteBack },
    };

    [DeviceTheory]
    [MemberData(nameof(Regions))]
    public void EveryByteOfTheRegionSurvives(int index, MappingMethod method, CachingMode type)
    {
        RequireStage();
        using MemphysDevice dev = MemphysDevice.Open(MemphysDevice.PathFor(index));
        MemphysInfo info = dev.GetInfo();
        Assert.True(info.Caching == type, $"memphys{index} is {info.Caching.ParameterName()}, the stage loads it {type.ParameterName()}");
        dev.SetMethod(method);
        long length = (long)info.RegionSize - (index == 0 ? RecordArea : 0);
        using MemphysMapping map = dev.Map(0, length);
        string label = $"memphys{index} {method.ToString().ToLowerInvariant()} {type.ParameterName()}";
        string seedFile = Path.Combine(StateDir, $"region{index}.seed");

        if (s_steps.Contains("verify") || s_steps.Contains("survey"))
        {
            Assert.True(File.Exists(seedFile), $"{seedFile} missing: no earlier boot wrote {label}");
            ulong seed = ulong.Parse(File.ReadAllText(seedFile).Trim(), CultureInfo.InvariantCulture);
            long bad = 0, first = -1;
            map.ForEachChunk((span, offset) =>
            {
                bad += Pattern.Check(span, offset, seed, out long firstBad);
                first = first < 0 ? firstBad : first;
            });
            Report($"{label}: {length} bytes checked, {bad} differ" + (first >= 0 ? $" (first at 0x{first:x})" : "") + $", seed {seed}");
            if (s_steps.Contains("verify"))
            {
                Assert.True(bad == 0, $"{label}: {bad} of {length} bytes differ from what the previous boot wrote (first at 0x{first:x})");
            }
        }

        if (s_steps.Contains("write"))
        {
            ulong seed = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
            map.ForEachChunk((span, offset) => Pattern.Fill(span, offset, seed));
            Directory.CreateDirectory(StateDir);
            File.WriteAllText(seedFile, seed.ToString(CultureInfo.InvariantCulture));
            Report($"{label}: {length} bytes written, seed {seed}");
        }
    }

    [DeviceFact]
    public void TheCommittedRecordSurvivesAndItsInterruptedSuccessorIsSeenTorn()
    {
        RequireStage();
        using MemphysDevice dev = MemphysDevice.Open(MemphysDevice.PathFor(0));
        MemphysInfo info = dev.GetInfo();
        dev.SetMethod(MappingMethod.Remap);
        using MemphysMapping map = dev.Map((long)info.RegionSize - RecordArea, RecordArea);
        Span<byte> area = map.GetSpan(0, RecordArea);
        string expectedFile = Path.Combine(StateDir, "record.expected");

        if (s_steps.Contains("verify") || s_steps.Contains("survey"))
        {
            RecordReadResult found = PersistentRecord.Read(area);
            Report($"record: {(found.HasRecord ? $"generation {found.Generation}, {found.Payload!.Length} bytes" : "none")}; slots " +
                string.Join(", ", found.Slots.Select(s => $"{s.Index} {s.State.ToString().ToLowerInvariant()} gen {s.Generation}")));
            if (s_steps.Contains("verify"))
            {
                string[] expected = File.ReadAllText(expectedFile).Split(' ', 2);
                Assert.True(found.HasRecord, "no valid record after the reboot");
                Assert.Equal(ulong.Parse(expected[0], CultureInfo.InvariantCulture), found.Generation);
                Assert.Equal(expected[1], Encoding.UTF8.GetString(found.Payload!));
                Assert.Contains(found.Slots, s => s.State == RecordSlotState.Torn && s.Generation == found.Generation + 1);
            }
        }

        if (s_steps.Contains("write"))
        {
            string payload = $"written in phase {Phase} by {Environment.OSVersion.VersionString} at {DateTime.UtcNow:O}";
            ulong generation = PersistentRecord.Write(area, Encoding.UTF8.GetBytes(payload));
            // The successor is prepared and never committed: what a crash in the middle of a write leaves.
            ulong torn = PersistentRecord.Prepare(area, Encoding.UTF8.GetBytes($"interrupted successor of generation {generation}"));
            Assert.Equal(generation + 1, torn);
            RecordReadResult now = PersistentRecord.Read(area);
            Assert.Equal(generation, now.Generation);
            Directory.CreateDirectory(StateDir);
            File.WriteAllText(expectedFile, $"{generation} {payload}");
            Report($"record: generation {generation} committed, {torn} prepared and left uncommitted");
        }
    }

    private static void RequireStage()
    {
        Assert.SkipUnless(DeviceEnvironment.Available, DeviceEnvironment.SkipReason ?? "");
        Assert.SkipWhen(s_steps.Length == 0 || s_out.Length == 0,
            "runs only in the persist stage (tests/guest/persist-tests.sh sets MEMPHYS_PERSIST_STEPS and boots the guest again)");
    }

    private static void Report(string line) =>
        File.AppendAllText(Path.Combine(s_out, "persist-results.txt"), $"phase {Phase}: {line}\n");
}
