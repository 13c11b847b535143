; Real mode, two boots in one process (--on-reboot restart). The first boot
; counts itself in CMOS NVRAM byte 0x50 (which survives a reset, as on a PC),
; leaves a mark in RAM at 0x30000 and resets through the i8042. The second
; boot checks that RAM came back cleared and powers off.
bits 16
%include "defs.inc"
start:
    mov ax, cs
    mov ds, ax
    mov ax, 0x3000
    mov es, ax
    mov al, 0x50
    out 0x70, al
    in al, 0x71
    test al, al
    jnz .second
    mov al, 0x50
    out 0x70, al
    mov al, 1
    out 0x71, al
    mov word [es:0], 0xbeef
    mov si, first
    call print
    mov al, 0xfe
    out I8042_CMD, al
.hang:
    jmp .hang
.second:
    mov si, clear
    cmp word [es:0], 0
    je .report
    mov si, dirty
.report:
    call print
    mov dx, PM1_CNT
    mov ax, S5_SLP_EN
    out dx, ax
    jmp .hang

print:                                          ; ds:si, NUL-terminated
    mov dx, COM1
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    ret

first: db "first boot", 10, 0
clear: db "second boot, RAM clear", 10, 0
dirty: db "second boot, RAM not cleared", 10, 0
