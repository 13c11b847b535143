; Real mode: enable the ACPI power button event, mark milestone 0x20, then
; wait until PM1_STS shows PWRBTN_STS (the control socket's "shutdown") and
; power off through PM1a_CNT, as an ACPI guest's button handler would.
bits 16
%include "defs.inc"
start:
    mov dx, PM1_EN
    mov ax, PWRBTN
    out dx, ax
    mov al, 0x20
    out DEBUGPORT, al
.poll:
    mov dx, PM1_STS
    in ax, dx
    test ax, PWRBTN
    jz .poll
    out dx, ax              ; write 1 to clear, as the OS does
    mov dx, COM1
    mov al, 'B'
    out dx, al
    mov al, 10
    out dx, al
    mov dx, PM1_CNT
    mov ax, S5_SLP_EN
    out dx, ax
.hang:
    jmp .hang
