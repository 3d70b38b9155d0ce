# fleetpatch preflight on Windows: free space on the system drive and the registry keys that say a
# reboot from an earlier change is pending. Outputs one object (win_powershell's output[0]).
# Not run on this project's test machine (no PowerShell there): see docs/windows_hosts.md.
$ErrorActionPreference = 'Stop'
$drive = $env:SystemDrive
$disk = Get-CimInstance -ClassName Win32_LogicalDisk -Filter "DeviceID='$drive'"
$pending = [System.Collections.Generic.List[String]]@()
foreach ($key in @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending',
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')) {
    if (Test-Path -LiteralPath $key) { $pending.Add($key) }
}
$values = @(
    @{ Key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager'; Name = 'PendingFileRenameOperations' },
    @{ Key = 'HKLM:\SOFTWARE\Microsoft\Updates'; Name = 'UpdateExeVolatile' }
)
foreach ($value in $values) {
    $item = Get-ItemProperty -LiteralPath $value.Key -Name $value.Name -ErrorAction SilentlyContinue
    if ($null -ne $item -and $null -ne $item.($value.Name) -and "$($item.($value.Name))" -ne '0') {
        $pending.Add("$($value.Key)\$($value.Name)")
    }
}
$Ansible.Changed = $false
[PSCustomObject]@{
    system_drive = $drive
    free_mb = [int64]([math]::Floor($disk.FreeSpace / 1MB))
    reboot_pending_keys = @($pending)
}
