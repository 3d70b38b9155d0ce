# A command step of the operator's hooks on a Windows host (roles/hooks/tasks/step.yml, through
# ansible.windows.win_powershell): run the argv without a shell (or, with shell: true, the one string
# with PowerShell), kill the process tree at the timeout, and return rc, stdout, stderr and whether it
# was killed (rc 124, as coreutils timeout says on a Linux host). Not run on a Windows host here: the
# tests replay recorded results (tests/integration/test_only_collections).
[CmdletBinding()]
param(
    [string[]]$Argv = @(),
    [string]$Script = '',
    [int]$Timeout = 300
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $true

function ConvertTo-Argument([string]$Value) {
    # one argument as the Microsoft C runtime splits a command line (CommandLineToArgvW)
    if ($Value -and $Value -notmatch '[\s"]') { return $Value }
    $escaped = [regex]::Replace($Value, '(\\*)"', '$1$1\"')
    $escaped = [regex]::Replace($escaped, '(\\+)$', '$1$1')
    return '"' + $escaped + '"'
}

if ($Script) {
    $file = 'powershell.exe'
    $arguments = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', $Script)
} else {
    $file = $Argv[0]
    $arguments = @($Argv | Select-Object -Skip 1)
}
$info = New-Object -TypeName System.Diagnostics.ProcessStartInfo
$info.FileName = $file
$info.Arguments = (@($arguments | ForEach-Object { ConvertTo-Argument $_ }) -join ' ')
$info.UseShellExecute = $false
$info.RedirectStandardOutput = $true
$info.RedirectStandardError = $true
$info.CreateNoWindow = $true
$process = [System.Diagnostics.Process]::Start($info)
$stdout = $process.StandardOutput.ReadToEndAsync()
$stderr = $process.StandardError.ReadToEndAsync()
$timedOut = -not $process.WaitForExit($Timeout * 1000)
if ($timedOut) {
    # the whole tree, as coreutils timeout --kill-after does on Linux
    & taskkill.exe /T /F /PID $process.Id 2>&1 | Out-Null
    $null = $process.WaitForExit(5000)
    $rc = 124
} else {
    $process.WaitForExit()
    $rc = $process.ExitCode
}
[PSCustomObject]@{
    rc = $rc
    timed_out = $timedOut
    stdout = $stdout.Result
    stderr = $stderr.Result
}
