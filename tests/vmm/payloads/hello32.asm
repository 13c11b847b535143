; 32-bit protected mode, paging off (flat segments, loaded at 0x10000): print a
; line on COM1, mark milestone 0x32, then ask for a reset through the ACPI
; reset register.
bits 32
org 0x10000
%include "defs.inc"
start:
    mov esi, msg
    mov dx, COM1
.next:
    mov al, [esi]
    inc esi
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    mov al, 0x32
    out DEBUGPORT, al
    mov dx, PM_RESET
    mov al, 1
    out dx, al
.hang:
    jmp .hang
msg: db "hello from protected mode", 10, 0
