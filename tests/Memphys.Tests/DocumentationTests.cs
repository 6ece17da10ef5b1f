using System.Reflection;
using System.Text.RegularExpressions;
using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>
/// Keeps the documentation honest: every relative link of the repository's Markdown resolves, and
/// docs/cli.md lists exactly the commands, options and exit codes that the CLI itself has.
/// </summary>
[Collection("Console")]
public sealed partial class DocumentationTests
{
    private static readonly string Root = TestPaths.RepoRoot() ?? throw new InvalidOperationException("no Managed.sln above the test binary");

    /// <summary>Directories that hold build outputs, caches or downloaded trees rather than our documents.</summary>
    private static readonly HashSet<string> SkippedDirectories = ["bin", "obj", "publish", "results", "build", "node_modules"];

    private const string CliDoc = "docs/cli.md";

    /// <summary>Options every command has and the docs name once, not in every table.</summary>
    private static readonly HashSet<string> HelpAliases = ["-?", "-h", "--help"];

    public static TheoryData<string> MarkdownFiles()
    {
        var data = new TheoryData<string>();
        foreach (string file in FindMarkdown(Root).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(Root, file));
        }

        return data;
    }

    [Fact]
    public void TheFrontDoorAndTheDocsExist()
    {
        string[] files = [.. MarkdownFiles().Select(row => row.Data)];
        Assert.Contains("README.md", files);
        foreach (string doc in new[] { "install.md", "testing.md", "benchmarks.md", "design.md", "cli.md", "contributing.md" })
        {
            Assert.Contains($"docs/{doc}", files);
        }

        Assert.True(File.ReadAllLines(Path.Combine(Root, "README.md")).Length <= 220, "README.md is the front door: keep it to about 200 lines");
    }

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void EveryRelativeLinkResolves(string relativePath)
    {
        string path = Path.Combine(Root, relativePath);
        var broken = new List<string>();
        foreach ((int line, string target) in Links(File.ReadAllText(path)))
        {
            if (Problem(path, target) is { } problem)
            {
                broken.Add($"{relativePath}:{line}: ({target}) {problem}");
            }
        }

        Assert.True(broken.Count == 0, string.Join('\n', broken));
    }

    [Fact]
    public void TheCommandTableListsExactlyTheCommandsOfHelp()
    {
        string help = Help();
        string[] fromHelp = [.. Section(help, "Commands").Where(l => IsEntry(l)).Select(l => l.Trim().Split(' ')[0]).Order(StringComparer.Ordinal)];
        Assert.NotEmpty(fromHelp);

        string[] documented = [.. TableUnder(ReadCliDoc(), "## Commands").Select(row => CodeSpans(row[0]).Single()).Order(StringComparer.Ordinal)];
        Assert.Equal(fromHelp, documented);
    }

    public static TheoryData<string> DocumentedCommands()
    {
        var data = new TheoryData<string>();
        foreach (Match m in CommandHeading().Matches(ReadCliDoc()))
        {
            data.Add(m.Groups["name"].Value);
        }

        return data;
    }

    [Fact]
    public void EveryCommandOfHelpHasAnOptionTable()
    {
        string[] sections = [.. DocumentedCommands().Select(row => row.Data)];
        foreach (string command in Section(Help(), "Commands").Where(l => IsEntry(l)).Select(l => l.Trim().Split(' ')[0]))
        {
            Assert.Contains(command, sections);
        }

        Assert.Contains("", sections); // the root command's own options
    }

    /// <summary>Names, argument, required and default of every option: the table against <c>memphys COMMAND --help</c>.</summary>
    [Theory]
    [MemberData(nameof(DocumentedCommands))]
    public void TheOptionTableMatchesTheCommandsHelp(string command)
    {
        string help = command.Length == 0 ? Help() : Help(command);
        Dictionary<string, HelpOption> fromHelp = HelpOptions(help).ToDictionary(o => o.Names);
        string heading = command.Length == 0 ? "### `memphys`" : $"### `memphys {command}`";
        Dictionary<string, string[]> documented = TableUnder(ReadCliDoc(), heading)
            .ToDictionary(row => string.Join(", ", CodeSpans(row[0]).Order(StringComparer.Ordinal)));

        Assert.Equal(fromHelp.Keys.Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        foreach ((string names, HelpOption option) in fromHelp)
        {
            string[] row = documented[names];
            string argument = CodeSpans(row[1]).SingleOrDefault() ?? "";
            Assert.True(argument == option.Argument, $"{command} {names}: argument documented '{argument}', help says '{option.Argument}'");
            bool required = row[2].Trim() == "required";
            Assert.True(required == option.Required, $"{command} {names}: required documented {required}, help says {option.Required}");
            if (option.Default is { } value)
            {
                Assert.True(CodeSpans(row[2]).FirstOrDefault() == value, $"{command} {names}: default column '{row[2]}' must start with `{value}` as --help says");
            }
        }
    }

    /// <summary>The exit-code table against the ExitCodes type and the root help's exit-code line.</summary>
    [Fact]
    public void TheExitCodeTableMatchesTheExitCodesType()
    {
        SortedDictionary<int, string> fromType = new(typeof(ExitCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(int))
            .ToDictionary(f => (int)f.GetRawConstantValue()!, f => f.Name));
        SortedDictionary<int, string> documented = new(TableUnder(ReadCliDoc(), "## Exit codes")
            .ToDictionary(row => int.Parse(row[0].Trim(), System.Globalization.CultureInfo.InvariantCulture), row => CodeSpans(row[1]).Single()));
        Assert.Equal(fromType, documented);

        string help = Help();
        foreach (int code in fromType.Keys)
        {
            Assert.Contains($"{(code == 0 ? ": " : "; ")}{code} ", help);
        }
    }

    private sealed record HelpOption(string Names, string Argument, bool Required, string? Default);

    private static string ReadCliDoc() => File.ReadAllText(Path.Combine(Root, CliDoc));

    private static string Help(params string[] command)
    {
        (int code, string stdout, string stderr) = CliRunner.Run([.. command, "--help"]);
        Assert.True(code == 0, $"memphys {string.Join(' ', command)} --help: exit {code}: {stderr}");
        return stdout;
    }

    /// <summary>The lines of a help section ("Options:", "Commands:") with continuation lines joined.</summary>
    private static List<string> Section(string help, string name)
    {
        var lines = new List<string>();
        bool inside = false;
        foreach (string line in help.ReplaceLineEndings("\n").Split('\n'))
        {
            if (!line.StartsWith(' ') && line.EndsWith(':'))
            {
                inside = line == name + ":";
            }
            else if (inside && IsEntry(line))
            {
                lines.Add(line);
            }
            else if (inside && line.Trim().Length > 0 && lines.Count > 0)
            {
                lines[^1] += " " + line.Trim(); // the description wrapped onto the next line
            }
        }

        return lines;
    }

    /// <summary>An entry starts two spaces in; its wrapped description lines are indented further.</summary>
    private static bool IsEntry(string line) => line.Length > 2 && line.StartsWith("  ", StringComparison.Ordinal) && line[2] != ' ';

    private static IEnumerable<HelpOption> HelpOptions(string help)
    {
        foreach (string entry in Section(help, "Options"))
        {
            Match m = HelpOptionLine().Match(entry);
            Assert.True(m.Success, $"cannot read the help line '{entry}'");
            string[] names = [.. m.Groups["names"].Value.Split(", ").Where(n => !HelpAliases.Contains(n)).Order(StringComparer.Ordinal)];
            if (names.Length == 0)
            {
                continue;
            }

            Match def = HelpDefault().Match(entry);
            yield return new HelpOption(string.Join(", ", names), m.Groups["arg"].Value, m.Groups["required"].Success,
                def.Success ? def.Groups["value"].Value : null);
        }
    }

    /// <summary>The rows (cells split on unescaped '|') of the first table after a heading, before the next heading.</summary>
    private static List<string[]> TableUnder(string markdown, string heading)
    {
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        int start = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        Assert.True(start >= 0, $"{CliDoc} has no heading '{heading}'");
        var rows = new List<string[]>();
        for (int i = start + 1; i < lines.Length && !lines[i].StartsWith('#'); i++)
        {
            if (!lines[i].StartsWith('|'))
            {
                if (rows.Count > 0)
                {
                    break;
                }

                continue;
            }

            string[] cells = [.. TableCell().Split(lines[i].Trim().Trim('|')).Select(c => c.Replace("\\|", "|", StringComparison.Ordinal).Trim())];
            rows.Add(cells);
        }

        Assert.True(rows.Count > 2, $"{CliDoc}: no table under '{heading}'");
        return rows[2..]; // past the header row and the |---| row
    }

    private static IEnumerable<string> CodeSpans(string cell) => CodeSpan().Matches(cell).Select(m => m.Groups[1].Value);

    private static IEnumerable<string> FindMarkdown(string directory)
    {
        foreach (string file in Directory.EnumerateFiles(directory, "*.md"))
        {
            yield return file;
        }

        foreach (string sub in Directory.EnumerateDirectories(directory))
        {
            string name = Path.GetFileName(sub);
            if (!name.StartsWith('.') && !SkippedDirectories.Contains(name))
            {
                foreach (string file in FindMarkdown(sub))
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>Inline and reference-style link targets with their line numbers, outside code blocks and code spans.</summary>
    private static IEnumerable<(int Line, string Target)> Links(string markdown)
    {
        bool fenced = false;
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }

            if (fenced)
            {
                continue;
            }

            string text = CodeSpan().Replace(lines[i], "");
            foreach (Match m in InlineLink().Matches(text))
            {
                yield return (i + 1, m.Groups["target"].Value);
            }

            if (ReferenceLink().Match(text) is { Success: true } reference)
            {
                yield return (i + 1, reference.Groups["target"].Value);
            }
        }
    }

    /// <summary>Why a link target does not resolve from the file that holds it, or null.</summary>
    private static string? Problem(string fromFile, string target)
    {
        if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
        {
            return null;
        }

        string[] parts = target.Split('#', 2);
        string file = parts[0].Length == 0 ? fromFile : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(fromFile)!, Uri.UnescapeDataString(parts[0])));
        if (parts[0].StartsWith('/'))
        {
            return "absolute path: use a path relative to this file";
        }

        if (!File.Exists(file) && !Directory.Exists(file))
        {
            return "no such file or directory";
        }

        if (parts.Length == 2)
        {
            if (!file.EndsWith(".md", StringComparison.Ordinal))
            {
                return "anchor into a file that is not Markdown";
            }

            if (!Anchors(File.ReadAllText(file)).Contains(parts[1]))
            {
                return $"no heading with anchor #{parts[1]} in {Path.GetRelativePath(Root, file)}";
            }
        }

        return null;
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>();
        var seen = new Dictionary<string, int>();
        bool fenced = false;
        foreach (string line in markdown.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
            }

            if (fenced || HeadingLine().Match(line) is not { Success: true } heading)
            {
                continue;
            }

            string slug = AnchorDropped().Replace(heading.Groups["text"].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            int count = seen.GetValueOrDefault(slug);
            seen[slug] = count + 1;
            anchors.Add(count == 0 ? slug : $"{slug}-{count}");
        }

        return anchors;
    }

    [GeneratedRegex(@"^### `memphys(?: (?<name>[^`]+))?`\s*$", RegexOptions.Multiline)]
    private static partial Regex CommandHeading();

    [GeneratedRegex(@"^\s*(?<names>-[^\s,]+(?:, -[^\s,]+)*)(?: (?<arg><[^>]+>))?(?<required> \(REQUIRED\))?(?:\s{2,}|$)")]
    private static partial Regex HelpOptionLine();

    [GeneratedRegex(@"\[default: (?<value>[^\]]*)\]\s*$")]
    private static partial Regex HelpDefault();

    [GeneratedRegex(@"(?<!\\)\|")]
    private static partial Regex TableCell();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^\s{0,3}\[[^\]]+\]:\s+(?<target>\S+)")]
    private static partial Regex ReferenceLink();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*\s*$")]
    private static partial Regex HeadingLine();

    [GeneratedRegex(@"[^\p{L}\p{Nd}\s_-]")]
    private static partial Regex AnchorDropped();
}
